import sys, numpy as np, torch
from sklearn.datasets import load_digits
from sklearn.svm import SVC
from PIL import Image
import genart
d = load_digits()
clf = SVC(gamma=0.001, probability=False).fit(d.data, d.target)
m = genart.load(sys.argv[1])
n = 500
x = m.generate_tensor(n, seed=1000)  # conditional: class from seed
z, y = m.latents(list(range(1000, 1000 + n)))
arr = ((x[:, 0].clamp(-1, 1) + 1) * 127.5).numpy().astype(np.uint8)
small = np.stack([np.asarray(Image.fromarray(a).resize((8, 8), Image.Resampling.BOX), dtype=np.float64) for a in arr]) / 255 * 16
pred = clf.predict(small.reshape(n, -1))
print("agreement with conditioning class:", (pred == y.numpy()).mean())
print("predicted class histogram:", np.bincount(pred, minlength=10))
for c in range(10):
    sel = y.numpy() == c
    print(c, "acc", round((pred[sel] == c).mean(), 2))

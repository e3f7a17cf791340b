"""Model families: each file holds the networks, their losses and sampling for one kind."""

"""The Generative lab: GANs, VAEs, diffusion and flow matching trained live, side by side."""

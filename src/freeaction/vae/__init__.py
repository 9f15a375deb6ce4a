"""The image autoencoder: a diffusers ``AutoencoderKL`` loaded from a local folder."""

from freeaction.vae.autoencoder import decode, encode, load_vae, vae_downsample_factor, vae_folder

__all__ = ["decode", "encode", "load_vae", "vae_downsample_factor", "vae_folder"]

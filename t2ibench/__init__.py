"""t2ibench: regenerate the comparison tables of text-to-image GAN papers end to end."""
__version__ = "0.1.0"

"""caliali-tk: CaliAli's CNMF-E extraction step as a standalone desktop tool."""

__version__ = "0.1.0"

"""jobyard: a local emulator of AWS's asynchronous job services."""

__version__ = "0.1.0"

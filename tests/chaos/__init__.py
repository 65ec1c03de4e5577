"""The chaos suite: the real daemon against the emulator under a seeded random fault schedule."""

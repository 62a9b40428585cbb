"""Errors a user can act on. Each message is one line; the CLI prints it and
exits non-zero, the app shows it in the page."""

from __future__ import annotations


class TalkingHeadError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(TalkingHeadError):
    """A file the user gave cannot be used."""


class UnreadableImageError(InputError):
    """The photo cannot be decoded as an image."""


class NoFaceError(InputError):
    """No face was found in the photo."""


class FaceTooSmallError(InputError):
    """The face is too small to animate."""


class AudioError(InputError):
    """The audio cannot be decoded or is unusable (empty, too short, too long)."""


class OutputPathError(TalkingHeadError):
    """The output path cannot be written, or exists and overwriting was not asked for."""


class RendererUnavailableError(TalkingHeadError):
    """The OpenGL renderer cannot start here; the NumPy renderer is used instead."""


class WeightsError(TalkingHeadError):
    """Model weights are missing, corrupt or cannot be downloaded."""


class AlignmentError(TalkingHeadError):
    """A transcript cannot be aligned to the audio (the phonetic driver then
    falls back to recognising phones from the audio alone)."""

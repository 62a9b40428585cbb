"""Audio-driven talking heads from one photo (Lv et al., ACM MM 2022).

Public API::

    from talking_head import TalkingHeadPipeline, GenerationConfig
    TalkingHeadPipeline(GenerationConfig()).generate("me.jpg", "speech.wav", "me.mp4")
"""

__version__ = "0.1.0"
__all__ = ["TalkingHeadPipeline", "GenerationConfig", "RenderConfig", "TalkingHeadError"]


def __getattr__(name: str):
    # Lazy, so `import talking_head` (e.g. for the CLI's --help) does not load MediaPipe or torch.
    if name == "TalkingHeadPipeline":
        from .pipeline import TalkingHeadPipeline

        return TalkingHeadPipeline
    if name in ("GenerationConfig", "RenderConfig"):
        from . import config

        return getattr(config, name)
    if name == "TalkingHeadError":
        from .errors import TalkingHeadError

        return TalkingHeadError
    raise AttributeError(f"module 'talking_head' has no attribute {name!r}")

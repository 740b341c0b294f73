"""Encoders: building and loading them, one encoding protocol, export to ONNX / int8, students."""

from typing import TYPE_CHECKING

from interlingua.exports import lazy_exports

if TYPE_CHECKING:  # the public names; each is imported when first used (interlingua.exports)
    from interlingua.models.encode import SentenceEncoder, SentenceTransformerEncoder, load_encoder
    from interlingua.models.encoder import EncoderConfig, build_scratch_encoder, load_pretrained_encoder
    from interlingua.models.export import export_model, load_export
    from interlingua.models.runtime import OnnxEncoder, StaticEncoder
    from interlingua.models.student import make_student
    from interlingua.models.tokenizer import train_tokenizer

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

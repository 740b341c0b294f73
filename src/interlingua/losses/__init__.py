"""The training objectives as sentence-transformers loss modules, one a file with its formula.

Each takes the model first, as sentence-transformers' losses do, and works with
``SentenceTransformerTrainer`` directly; ``SplitLoss`` is the engine they share (GradCache chunks,
negatives gathered across processes).
"""

from typing import TYPE_CHECKING

from interlingua.exports import lazy_exports

if TYPE_CHECKING:  # the public names; each is imported when first used (interlingua.exports)
    from interlingua.losses.align import AlignLoss
    from interlingua.losses.cz_nce import CZNCELoss
    from interlingua.losses.dap import DAPLoss
    from interlingua.losses.distillation import DistillationLoss
    from interlingua.losses.ems import EMSLoss
    from interlingua.losses.ems_contrastive import EMSContrastiveLoss
    from interlingua.losses.engine import SplitLoss
    from interlingua.losses.lightweight import LightweightLoss
    from interlingua.losses.mlctl import MLCTLLoss
    from interlingua.losses.rtl import RTLLoss
    from interlingua.losses.sim import SimLoss
    from interlingua.losses.tr_plus import TRPlusLoss
    from interlingua.losses.translation_ranking import TranslationRankingLoss
    from interlingua.losses.ugt import UGTLoss
    from interlingua.losses.xtr import XTRLoss

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

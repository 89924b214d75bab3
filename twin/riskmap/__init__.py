"""Risk grading (LS, LEC), the four-colour map and its roll-up, control lists, boards and cards."""

from twin.riskmap.scales import Assessment, Scale, assess, build_scale, default_scale

__all__ = ["Assessment", "Scale", "assess", "build_scale", "default_scale"]

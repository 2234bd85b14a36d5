"""Feature families: small declarative units assembled by ``features.registry``."""

from features.families.base import Categories, Feature, FeatureFamily

__all__ = ["Categories", "Feature", "FeatureFamily"]

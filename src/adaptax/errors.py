"""The errors adaptax raises for bad input; the command line prints them in one line."""


class AdaptaxError(ValueError):
    """A user-facing error whose message says what to fix."""


class ConfigError(AdaptaxError):
    """An unknown experiment, preset or config key, or a value of the wrong type or range."""


class CheckpointError(AdaptaxError):
    """A checkpoint that is missing, corrupt, or from another run or format."""


class TrainingDiverged(AdaptaxError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""

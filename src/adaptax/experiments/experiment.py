"""An experiment: a paper table or figure as a config, presets, a driver and a report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from adaptax.errors import ConfigError
from adaptax.experiments import config as cfg
from adaptax.storage.runs import RunDir


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A reproducible experiment.

    Attributes:
      name: the command-line name, e.g. ``"maml-sinusoid"``.
      description: one line for ``adaptax list``.
      config_cls: its frozen config dataclass (defaults = the ``default`` preset).
      presets: preset name → field overrides applied to the defaults.
      run: ``(config, run_dir, resume) -> results`` trains, evaluates and writes
        ``results.json``; with ``resume`` it continues from the run folder's checkpoints.
      report: ``(run_dir, experiment) -> markdown`` writes ``report.md`` and figures from
        ``results.json`` alone (``experiment`` gives the command that reruns the run); the
        command line calls it after ``run`` and on ``adaptax report`` (:meth:`write_report`).
      eval_keys: config keys that change only the evaluation: ``adaptax resume RUN --set
        KEY=VALUE`` may change them and evaluate a finished run again (e.g. on more test tasks).
    """

    name: str
    description: str
    config_cls: type
    presets: dict[str, dict[str, Any]]
    run: Callable[[Any, RunDir, bool], dict[str, Any]]
    report: Callable[[RunDir, Experiment], str]
    eval_keys: tuple[str, ...] = ()

    def write_report(self, run_dir: RunDir) -> str:
        """Writes the run folder's ``report.md`` and figures from its ``results.json``."""
        return self.report(run_dir, self)

    def make_config(self, preset: str = "default", overrides: dict[str, Any] | None = None) -> Any:
        """The config of ``preset`` with ``overrides`` applied, validated."""
        if preset not in self.presets:
            raise ConfigError(
                f"unknown preset {preset!r} for {self.name}; choose one of {list(self.presets)}"
            )
        config = cfg.apply_overrides(self.config_cls(), self.presets[preset])
        return cfg.apply_overrides(config, overrides or {})

    def command_line(
        self, preset: str | None, config: dict[str, Any], always: Sequence[str] = ()
    ) -> str:
        """The ``adaptax run`` command that rebuilds ``config`` (a run's ``config.json`` entry).

        It names the preset, then ``--set`` for every key whose value differs from the preset's
        (and for the keys in ``always``, e.g. the table cell), then ``--seed`` when the config
        has one and ``--seeds`` for a multi-seed run, so a report's command reruns what was run
        rather than only the preset.

        Example:
          >>> from adaptax.experiments.registry import get
          >>> exp = get("rl2-mdps")
          >>> exp.command_line("default", {**cfg.to_dict(exp.make_config()), "hidden_size": 32})
          'adaptax run rl2-mdps --preset default --set hidden_size=32 --seed 0'
        """
        preset = preset if preset in self.presets else "default"
        base = cfg.to_dict(self.make_config(preset))
        sets = [
            f"--set {key}={cfg.format_value(value)}" for key, value in config.items()
            if key not in ("seed", "seeds") and (key in always or base.get(key) != value)
        ]
        seed = [f"--seed {config['seed']}"] if "seed" in config else []
        if config.get("seeds", 1) > 1:
            seed.append(f"--seeds {config['seeds']}")
        return " ".join([f"adaptax run {self.name} --preset {preset}", *sets, *seed])

    def command_of(self, run_config: dict[str, Any], always: Sequence[str] = ()) -> str:
        """The ``adaptax run`` command that reruns a run folder's ``config.json`` record."""
        return self.command_line(run_config.get("preset"), run_config["config"], always)

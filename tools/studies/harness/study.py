"""What a study is: its arms (:class:`Variant`), the claims it tests (:class:`Claim`) and
everything fixed before it runs (:class:`Study`), plus the context its report callbacks get
(:class:`RunContext`). Pure data: no training, no report (:mod:`.runner`, :mod:`.report`)."""

import argparse
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class RunContext:
    """What a study's report callbacks (:attr:`Study.sections`) know about this invocation.

    Args:
        command (str): The command line of this invocation (``python -m tools.studies.<study>
            ...``), named in the report.
        out_dir (str): The report's folder (``docs/results``; with ``--quick`` the runs folder).
        work_dir (str): The runs folder. Defaults to ``''``.
        quick (bool): A ``--quick`` run. Defaults to False.
        stage (str, optional): The ``--stage`` of a study with stages. Defaults to none.
        args (argparse.Namespace, optional): The parsed command line. Defaults to none.
    """

    command: str
    out_dir: str
    work_dir: str = ''
    quick: bool = False
    stage: Optional[str] = None
    args: Optional[argparse.Namespace] = None


@dataclass(frozen=True)
class Variant:
    """One arm of a study: a leaf config, trained as it is (only the seed, and ``--quick``'s
    shortening, are given as ``--cfg-options``).

    Args:
        name (str): Row label in the report.
        config (str): Config path relative to the repository root: everything the arm
            trains (data, schedule, model), e.g. a leaf of ``configs/<paper>/digits/study/``.
        baseline (str, optional): Name of the variant its paired differences are taken to.
        group (str): Panel of the curves figure / block of the tables.
        quick (Tuple[str, ...]): ``--cfg-options`` of this arm added after the study's
            ``quick`` ones by ``--quick`` (e.g. the dataset-size key of a wrapped dataset).
        long_config (str, optional): The leaf config of this arm at twice the study's
            schedule, for the schedule-length check of a baseline
            (:meth:`Study.length_variant`). Defaults to none (no length check of this arm).
    """

    name: str
    config: str
    baseline: Optional[str] = None
    group: str = ''
    quick: Tuple[str, ...] = ()
    long_config: Optional[str] = None

    @property
    def slug(self) -> str:
        return re.sub(r'[^a-z0-9]+', '-', self.name.lower()).strip('-')


@dataclass(frozen=True)
class Claim:
    """A paper's claim as a paired comparison.

    Args:
        name (str): What the paper claims, in words.
        method (str): Variant that should be better.
        baseline (str): Variant it is compared to (same seeds).
        metric (str): Metric key of the final validation.
        direction (int): ``+1`` when the claim is that the metric rises, ``-1`` falls.
        paper_effect (float, optional): The paper's own effect size for this comparison, in
            the metric's units as the report shows them (e.g. ``+1.82`` mAP points), signed
            as the paper reports it. With it, the report shows it beside the smallest effect
            the study can detect, and an interval that contains 0 and is wider than the
            paper's effect gives the verdict "below this proxy's resolution" instead of
            "inconclusive" (:func:`tools.studies.harness.stats.verdict`). Defaults to none (the
            verdict ignores the paper's effect size).
        paper_source (str): Where ``paper_effect`` comes from (e.g. ``'Table 3, + cosine'``),
            shown in the report. Defaults to ``''``.
    """

    name: str
    method: str
    baseline: str
    metric: str
    direction: int = 1
    paper_effect: Optional[float] = None
    paper_source: str = ''


@dataclass
class Study:
    """A study fixed before it runs (see the module docstring).

    Args:
        name (str): Slug; results go to ``docs/results/<name>.{md,json,png}``.
        title (str): Report title.
        variants (List[Variant]): The arms.
        seeds (Tuple[int, ...]): Seeds of every arm.
        metrics (List[Tuple[str, str]]): ``(label, key)`` of the table's metrics.
        claims (List[Claim]): The paired comparisons that get a verdict.
        setup (List[str]): Markdown lines describing the data, model and protocol.
        primary (str): Metric of the curves and the convergence check. Defaults to mIoU.
        converge_tol (float): A baseline whose last validation interval gains more than
            this (mean over seeds, metric units) is "not converged". Defaults to 1.0.
        quick (Tuple[str, ...]): ``--cfg-options`` added by ``--quick``.
        prepare (Callable, optional): Called once before the runs (e.g. builds the data, so
            that parallel runs do not race to build it).
        quick_prepare (Callable, optional): Called instead of ``prepare`` by ``--quick``
            (e.g. a shortened pre-training). Defaults to ``prepare``.
        sections (Callable, optional): ``sections(study, runs, context) -> List[str]``:
            extra report sections (markdown lines) computed from the finished runs, with
            the :class:`RunContext` of this invocation (e.g. where to write extra files).
        train_scalars (Tuple[str, ...]): Prefixes of training scalars kept in ``run.json``
            (e.g. ``'tce/weight/'``).
        scale (float): Factor applied to every metric value in the report and the progress
            lines (100 for metrics logged as fractions, e.g. mmdet's COCO mAP); the report's
            tables, curves and ``converge_tol`` are in the scaled units. Defaults to 1.
        fill (Dict[str, float]): Values of metrics that a validation record lacks. mmdet's
            ``CocoMetric`` logs no AP at all when the model detects nothing on the whole val
            set (an AP of 0): with ``primary`` in ``fill``, a validation record without any
            metric is kept and completed from ``fill``. Defaults to none.
        step_unit (str): What the validation steps count (``'iteration'`` or ``'epoch'``),
            for the convergence table and the curves' axis. Defaults to ``'iteration'``.
        withhold (Callable, optional): ``withhold(study, runs) -> {claim name: reason}``:
            claims that get no verdict whatever their interval (e.g. an arm without parity
            to a reference implementation). Defaults to none.
        reference (str): The study's ``REFERENCE`` block: the authors' released recipe it
            follows (paper section or the authors' repository file) and every deliberate
            difference with its reason. The report prints it as its ``## Reference recipe``
            section; a study without one gets a warning there (and a Python warning).
            Defaults to ``''``.
    """

    name: str
    title: str
    variants: List[Variant]
    seeds: Tuple[int, ...]
    metrics: List[Tuple[str, str]]
    claims: List[Claim]
    setup: List[str]
    primary: str = 'mIoU'
    converge_tol: float = 1.0
    quick: Tuple[str, ...] = ()
    prepare: Optional[Callable[['Study'], None]] = None
    quick_prepare: Optional[Callable[['Study'], None]] = None
    sections: Optional[Callable[['Study', List[dict], RunContext], List[str]]] = None
    train_scalars: Tuple[str, ...] = ()
    baselines: List[str] = field(default_factory=list)
    scale: float = 1.0
    fill: Dict[str, float] = field(default_factory=dict)
    step_unit: str = 'iteration'
    withhold: Optional[Callable[['Study', List[dict]], Dict[str, str]]] = None
    reference: str = ''

    #: suffix of the name of a baseline's 2x-schedule arm (:meth:`length_variant`)
    LONG_SUFFIX = ' (2x schedule)'

    def __post_init__(self) -> None:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f'{self.name}: duplicate variant names')
        known = set(names)
        for v in self.variants:
            if v.baseline is not None and v.baseline not in known:
                raise ValueError(f'{v.name}: unknown baseline {v.baseline!r}')
        for c in self.claims:
            if c.method not in known or c.baseline not in known:
                raise ValueError(f'claim {c.name!r} names an unknown variant')
        if not self.baselines:
            self.baselines = sorted(
                {v.baseline for v in self.variants if v.baseline}, key=names.index
            )

    @property
    def length_checked(self) -> bool:
        """Whether the baselines train at 2x: the schedule-length check.

        Every baseline with a :attr:`Variant.long_config` also trains at 2x
        (:meth:`length_variant`), on the first seed and, when that seed's final ``primary``
        moves by more than ``converge_tol / 2``, on every seed; it is converged when the 2x
        run's final ``primary`` is within ``converge_tol`` of the schedule's (mean over the 2x
        seeds). A failed baseline withholds every verdict (the report says so at its top).
        Without any ``long_config`` (False): no length check; the last-interval gain of the
        curves decides instead.
        """
        return bool(self.length_variants())

    def length_variants(self) -> Dict[str, Variant]:
        """``baseline -> its 2x arm`` (:meth:`length_variant`) of every baseline with a
        ``long_config``, in :attr:`baselines` order; empty without a length check."""
        return {
            b: self.length_variant(b)
            for b in self.baselines
            if self.variant(b).long_config is not None
        }

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def length_variant(self, baseline: str) -> Variant:
        """The 2x-schedule arm of ``baseline`` for the schedule-length check.

        The baseline's ``long_config`` (its leaf config at 2x); same group and ``--quick``
        options, no baseline of its own.

        Args:
            baseline (str): Name of one of :attr:`baselines`.

        Returns:
            Variant: ``<baseline> (2x schedule)``.

        Raises:
            ValueError: When the baseline has no ``long_config``.
        """
        v = self.variant(baseline)
        if v.long_config is None:
            raise ValueError(f'{self.name}: baseline {baseline!r} has no long_config')
        return dataclasses.replace(
            v, name=v.name + self.LONG_SUFFIX, config=v.long_config, baseline=None
        )

    def subset(self, names: Sequence[str]) -> 'Study':
        """The study restricted to ``names`` and the baselines they are compared with.

        Claims whose two arms are both kept stay; the others are dropped.

        Args:
            names (Sequence[str]): Variant names.

        Returns:
            Study: A copy with fewer variants and claims.
        """
        unknown = sorted(set(names) - {v.name for v in self.variants})
        if unknown:
            raise ValueError(f'{self.name}: unknown variants {unknown}')
        keep = set(names)
        for name in names:
            base = self.variant(name).baseline
            while base is not None and base not in keep:
                keep.add(base)
                base = self.variant(base).baseline
        return dataclasses.replace(
            self,
            variants=[v for v in self.variants if v.name in keep],
            claims=[c for c in self.claims if {c.method, c.baseline} <= keep],
            baselines=[b for b in self.baselines if b in keep],
        )

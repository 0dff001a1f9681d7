"""The run cache of mmext's studies: where a run's folder is and whether it has a result.

A run is identified by its id, ``seed<seed>_<key>`` (:func:`~.configs.resolved_key`: the
digest of its fully merged config, bases, seed and options included), and its folder in the
study's runs folder is ``<slug>_<run id>``. :class:`RunCache` finds a run's result
(:meth:`RunCache.locate`): in its own folder, under the same id in another folder of the
study or of a sibling study (copied, not retrained: :meth:`RunCache.reuse`), or in a folder
named by the former key (:func:`~.configs.run_key`, renamed: :meth:`RunCache.rename`).
:class:`~.runner.Runner` trains what it does not find.
"""

import glob
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Tuple

from tools import REPO
from tools.studies.harness.configs import ResolvedConfigs, config_digest, run_key
from tools.studies.harness.study import Study, Variant


class RunCache:
    """The run ids and folders of a study's runs, and the finished runs it can reuse.

    Args:
        study (Study): The study.
        work_dir (str): Its runs folder.
        quick (bool): The ``--quick`` options (part of the run ids). Defaults to False.
    """

    def __init__(self, study: Study, work_dir: str, quick: bool = False) -> None:
        self.study = study
        self.work_dir = work_dir
        self.quick = quick
        self._digests: Dict[str, str] = {}
        self._configs = ResolvedConfigs()

    def options(self, variant: Variant) -> List[str]:
        """The ``--cfg-options`` of a run after its seed: ``--quick``'s (the study's, then the
        arm's); none otherwise (the arm's config is what it trains)."""
        return list(self.study.quick) + list(variant.quick) if self.quick else []

    def run_id(self, variant: Variant, seed: int) -> str:
        """``seed<seed>_<key>`` (:func:`~.configs.resolved_key`): the end of the run folder's
        name, which identifies the run in any study."""
        return f'seed{seed}_{self._configs.key(variant.config, self.options(variant), seed)}'

    def legacy_id(self, variant: Variant, seed: int) -> str:
        """The run id under the former key (:func:`~.configs.run_key`: config digest, option
        strings, seed), which names the folders of caches written before."""
        if variant.config not in self._digests:
            self._digests[variant.config] = config_digest(variant.config)
        return f'seed{seed}_{run_key(self._digests[variant.config], self.options(variant), seed)}'

    def locate(self, variant: Variant, seed: int) -> Tuple[str, str, Optional[str]]:
        """Where a run's result is, without changing anything.

        Args:
            variant (Variant): The arm.
            seed (int): The seed.

        Returns:
            tuple: ``(run_dir, status, source)``: ``status`` is ``'cached'`` (``run_dir``
            holds ``run.json``), ``'copy'`` (a finished run with the same id, in another
            study or under another name, is at ``source``), ``'legacy'`` (a finished run of
            this arm named by the former key is at ``source``) or ``'train'``.
        """
        run_id = self.run_id(variant, seed)
        run_dir = self.run_dir(variant, seed, run_id)
        if osp.isfile(osp.join(run_dir, 'run.json')):
            return run_dir, 'cached', None
        twin = self.twin(run_id, exclude=run_dir)
        if twin is not None:
            return run_dir, 'copy', twin
        legacy = self.twin(self.legacy_id(variant, seed), exclude=run_dir)
        if legacy is not None:
            return run_dir, 'legacy', legacy
        return run_dir, 'train', None

    def run_dir(self, variant: Variant, seed: int, run_id: Optional[str] = None) -> str:
        """``<work_dir>/<slug>_<run id>``; ``run_id`` if already computed."""
        return osp.join(self.work_dir, f'{variant.slug}_{run_id or self.run_id(variant, seed)}')

    def twin(self, run_id: str, exclude: Optional[str] = None) -> Optional[str]:
        """A finished run with this run id: under another name in this study, or in another
        study under the same parent folder (this study's first).

        The id (:meth:`run_id`) is the digest of the merged config, seed included, so such a
        run is the run this study would train (the training is deterministic: a rerun of a
        cached run gave the same mAP to the last digit); the study's and the arm's names are
        not part of it.

        Args:
            run_id (str): A run id (:meth:`run_id` or :meth:`legacy_id`).
            exclude (str, optional): A folder not to return (the run's own).
        """
        own = osp.normpath(self.work_dir)
        pattern = osp.join(osp.dirname(own), '*', f'*_{run_id}', 'run.json')
        found = sorted(
            (osp.dirname(osp.dirname(p)) != own, osp.dirname(p))
            for p in glob.glob(pattern)
            if exclude is None or osp.normpath(osp.dirname(p)) != osp.normpath(exclude)
        )
        return found[0][1] if found else None

    def _owns(self, folder: str) -> bool:
        return osp.normpath(osp.dirname(folder)) == osp.normpath(self.work_dir)

    def reuse(self, twin: str, run_dir: str, variant: Variant) -> None:
        """Copy ``twin`` (see :meth:`twin`) to ``run_dir``; its record names where it came from."""
        shutil.copytree(twin, run_dir)
        self._relabel(run_dir, variant, 'reused_from', twin)

    def rename(self, legacy: str, run_dir: str, variant: Variant) -> None:
        """Move this study's folder named by the former key to ``run_dir`` (its record keeps
        the former folder as ``renamed_from``): the run is the same, only its name changes."""
        os.rename(legacy, run_dir)
        self._relabel(run_dir, variant, 'renamed_from', legacy)

    @staticmethod
    def _relabel(run_dir: str, variant: Variant, origin: str, source: str) -> None:
        result = osp.join(run_dir, 'run.json')
        with open(result) as f:
            rec = json.load(f)
        rec.update(
            {
                'variant': variant.name,
                'run_dir': osp.relpath(run_dir, REPO),
                origin: osp.relpath(source, REPO),
            }
        )
        with open(result + '.tmp', 'w') as f:
            json.dump(rec, f)
        os.replace(result + '.tmp', result)

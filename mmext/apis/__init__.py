"""The command-line glue of ``tools/train.py`` and ``tools/test.py`` (launch, evaluation
flags, run checks): what an entry point does around mmengine's Runner. Modules are imported
by those tools directly; :mod:`mmext.utils` keeps the utilities the package itself uses."""

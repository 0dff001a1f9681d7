"""OptionalCompile: eager by default, compiled on request, eager with one warning when
compilation fails, input errors propagate."""

import warnings

import pytest
import torch

from mmext.utils.optional_compile import OptionalCompile


@pytest.fixture(autouse=True)
def _fresh_process_warning(monkeypatch):
    """Each test starts as a new process would: no fall-back reported yet."""
    monkeypatch.setattr(OptionalCompile, '_warned', False)


def _scaled_sum(a, b):
    if a.shape != b.shape:
        raise ValueError('shape mismatch')
    return (a * b).sum(1).mul_(0.5)


def test_eager_by_default_never_compiles(monkeypatch):
    def no_compile(*args, **kwargs):
        raise AssertionError('torch.compile must not be called')

    monkeypatch.setattr(torch, 'compile', no_compile)
    kernel = OptionalCompile(_scaled_sum)
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    # by hand: ½(5 + 12) = 8.5, ½(21 + 32) = 26.5
    torch.testing.assert_close(kernel(a, b), torch.tensor([8.5, 26.5]))
    assert kernel.__name__ == '_scaled_sum'


def test_failed_compilation_warns_once_and_stays_eager(monkeypatch):
    calls = []

    def broken_compile(fn, **kwargs):
        calls.append(kwargs)

        def run(*args):
            raise RuntimeError('InductorError: no working C++ compiler found')

        return run

    monkeypatch.setattr(torch, 'compile', broken_compile)
    kernel = OptionalCompile(_scaled_sum, dynamic=True)
    a = torch.ones(2, 3)
    with pytest.warns(RuntimeWarning, match='no working C\\+\\+ compiler.*running it eagerly'):
        out = kernel(a, 2 * a, compiled=True)
    torch.testing.assert_close(out, torch.tensor([3.0, 3.0]))  # ½·(3 · 2)
    assert calls == [dict(fullgraph=True, dynamic=True)]
    assert 'RuntimeError' in kernel.disabled_reason
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no second warning
        torch.testing.assert_close(kernel(a, a, compiled=True), torch.tensor([1.5, 1.5]))
    assert len(calls) == 1  # not compiled again


def test_many_kernels_falling_back_warn_once_in_all(monkeypatch):
    """compile_kernels=True without a compiler: five kernels, one warning (issue 26 item 15)."""

    def broken_compile(fn, **kwargs):
        def run(*args):
            raise RuntimeError('InductorError: no working C++ compiler found')

        return run

    monkeypatch.setattr(torch, 'compile', broken_compile)
    kernels = [OptionalCompile(_scaled_sum) for _ in range(5)]
    a = torch.ones(2, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for kernel in kernels:
            torch.testing.assert_close(kernel(a, a, compiled=True), torch.tensor([1.5, 1.5]))
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    assert all('RuntimeError' in k.disabled_reason for k in kernels)


def test_input_errors_propagate_and_keep_compilation(monkeypatch):
    monkeypatch.setattr(torch, 'compile', lambda fn, **kwargs: fn)  # "compiles" to itself
    kernel = OptionalCompile(_scaled_sum)
    with pytest.raises(ValueError, match='shape mismatch'):
        kernel(torch.ones(2, 3), torch.ones(3, 2), compiled=True)
    assert kernel.disabled_reason is None


def test_real_compilation_matches_the_hand_values():
    kernel = OptionalCompile(_scaled_sum)
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    torch.testing.assert_close(kernel(a, b, compiled=True), torch.tensor([8.5, 26.5]))
    assert kernel.disabled_reason is None, kernel.disabled_reason
    assert kernel._compiled is not None


def test_out_of_memory_is_reraised_not_retried(monkeypatch):
    eager_calls = []

    def fn(a):
        eager_calls.append(a)
        return a

    def oom_compile(fn, **kwargs):
        def run(*args):
            raise torch.OutOfMemoryError('out of memory')

        return run

    monkeypatch.setattr(torch, 'compile', oom_compile)
    kernel = OptionalCompile(fn)
    with pytest.raises(torch.OutOfMemoryError):
        kernel(torch.ones(1), compiled=True)
    assert eager_calls == [] and kernel.disabled_reason is None


def test_untraceable_function_fails_before_running_and_falls_back():
    """fullgraph=True: a graph break is a compilation error raised before any part of the
    function ran, so in-place updates of the arguments are applied once, by the eager run."""

    def add_then_branch(a):
        a.add_(1.0)
        if a.sum() > 0:  # data-dependent Python branch: a graph break
            return a * 2.0
        return a

    kernel = OptionalCompile(add_then_branch)
    a = torch.ones(3)
    with pytest.warns(RuntimeWarning, match='running it eagerly'):
        out = kernel(a, compiled=True)
    torch.testing.assert_close(a, torch.full((3,), 2.0))  # one increment, not two
    torch.testing.assert_close(out, torch.full((3,), 4.0))
    assert kernel.disabled_reason is not None

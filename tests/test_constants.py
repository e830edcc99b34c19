"""contracts/constants.py: the pool hypothesis draws constants from while a contract runs, and what it leaves."""

from __future__ import annotations

from hypothesis.internal.conjecture import providers

from contracts.constants import pinned, pool

KEY = ("string", "a kind of draw made by a contract")
THEIRS = ("string", "a kind of draw made by the user's own test")


def test_a_contract_draws_from_the_pool_and_the_users_run_gets_its_own_back() -> None:
    collect = providers._get_local_constants
    providers.CONSTANTS_CACHE[THEIRS] = ((), ("theirs",))
    try:
        with pinned():
            assert providers._get_local_constants is pool
            assert THEIRS not in providers.CONSTANTS_CACHE.cache  # views of another pool are not ours
            providers.CONSTANTS_CACHE[KEY] = ((), ("ours",))
        assert providers._get_local_constants is collect
        assert providers.CONSTANTS_CACHE.cache.get(THEIRS) == ((), ("theirs",))
        assert KEY not in providers.CONSTANTS_CACHE.cache
        # the next contract finds the views the first one made (the same pool): not made again
        with pinned():
            assert providers.CONSTANTS_CACHE.cache.get(KEY) == ((), ("ours",))
            assert THEIRS not in providers.CONSTANTS_CACHE.cache
        assert providers.CONSTANTS_CACHE.cache.get(THEIRS) == ((), ("theirs",))
    finally:
        providers.CONSTANTS_CACHE.cache.pop(THEIRS, None)
        with pinned():
            providers.CONSTANTS_CACHE.cache.pop(KEY, None)

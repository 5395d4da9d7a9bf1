"""The small expiring cache behind Google's certificates and the Gmail mailbox lookup."""


def test_ttl_cache_expires_and_stays_bounded():
    from pitchlint.service.ttlcache import TTLCache

    now = [100.0]
    cache = TTLCache(10, max_entries=3, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 105.0
    assert cache.get("a") == 1
    cache.put("b", 2)
    cache.put("c", 3)
    now[0] = 110.5  # "a" has expired: it makes room for "d"
    assert cache.get("a") is None
    cache.put("d", 4)
    assert [cache.get(k) for k in "bcd"] == [2, 3, 4]
    cache.put("e", 5)  # full of live entries: the least recently used goes, it never grows
    assert cache.get("e") == 5 and len(cache) == 3

from controller.util.hashing import SAFE_ALPHABET, compute_hash, fnv32a, safe_encode


def test_fnv32a_matches_the_reference_vectors():
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_avoids_vowels_and_confusables():
    assert set(safe_encode("0123456789")) <= set(SAFE_ALPHABET)


def test_hash_depends_on_content_and_collision_count():
    assert compute_hash({"a": 1}) == compute_hash({"a": 1})
    assert compute_hash({"a": 1}) != compute_hash({"a": 2})
    assert compute_hash({"a": 1}, 1) != compute_hash({"a": 1}, 2)

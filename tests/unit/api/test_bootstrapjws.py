"""The cluster-info signature must be Kubernetes' byte for byte, or a kubeadm join
against minik (or minik join against Kubernetes) fails: the known answers are
k8s.io/cluster-bootstrap/token/jws's own test vectors."""

from api.bootstrapjws import detached_signature, detached_token_is_valid

CONTENT = "Hello from the other side. I must have called a thousand times."
SECRET = "my voice is my passcode"
ID = "joshua"
HEADER = "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9"


def test_known_answers():
    assert detached_signature(CONTENT, ID, SECRET) == (
        f"{HEADER}..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8"
    )
    assert detached_signature("", ID, SECRET) == (
        f"{HEADER}..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk"
    )
    assert detached_signature(CONTENT, ID, "") == (
        f"{HEADER}..UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8"
    )


def test_validity():
    sig = detached_signature(CONTENT, ID, SECRET)
    assert detached_token_is_valid(sig, CONTENT, ID, SECRET)
    assert not detached_token_is_valid(sig + "foo", CONTENT, ID, SECRET)
    assert not detached_token_is_valid(sig, CONTENT + " ", ID, SECRET)
    assert not detached_token_is_valid(sig, CONTENT, ID, "my voice is my passcodf")

"""The node's mailboxes (ROS-free): the newest message wins; target requests wait per id, bounded."""

from __future__ import annotations

from asymtrack_ros.ros.mailbox import KeyedMailbox, LatestMailbox


def test_latest_mailbox_keeps_the_newest_and_counts_the_replaced() -> None:
    mailbox = LatestMailbox()
    mailbox.put("a", 1.0)
    mailbox.put("b", 2.0)
    assert mailbox.take(timeout=0.0) == ("b", 2.0) and mailbox.dropped == 1
    assert mailbox.take(timeout=0.0) is None


def test_keyed_mailbox_keeps_the_newest_per_key_within_its_capacity() -> None:
    mailbox = KeyedMailbox(capacity=2)
    assert mailbox.put("a", 1) and mailbox.put("b", 2) and mailbox.put("a", 3)
    assert not mailbox.put("c", 4), "a third key does not fit"
    assert mailbox.keys() == ("b", "a") and mailbox.dropped == 1
    assert mailbox.discard("b") and not mailbox.discard("b")
    assert mailbox.take_all() == [3] and mailbox.take_all() == []


def test_an_exclusive_item_replaces_every_waiting_one() -> None:
    mailbox = KeyedMailbox(capacity=1)
    mailbox.put("a", 1)
    assert mailbox.put("b", 2, exclusive=True)
    assert mailbox.take_all() == [2] and mailbox.dropped == 1

"""Plain secondary indexes are split off CREATE TABLE and added after the rows."""

from __future__ import annotations

from dumpflow.loader.keys import defer_secondary_keys

CREATE = b"""CREATE TABLE `movings` (
  `id` bigint(20) NOT NULL,
  `note` varchar(120) DEFAULT 'a, KEY (x)',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_note` (`note`),
  KEY `tenant_id` (`tenant_id`),
  FULLTEXT KEY `ft_note` (`note`),
  INDEX `room_note` (`room_id`,`note`(10))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""


def test_plain_keys_move_to_one_alter_in_their_order() -> None:
    split = defer_secondary_keys(CREATE, "`movings`")

    assert split.create_sql == (
        b"CREATE TABLE `movings` (\n"
        b"  `id` bigint(20) NOT NULL,\n"
        b"  `note` varchar(120) DEFAULT 'a, KEY (x)',\n"
        b"  PRIMARY KEY (`id`),\n"
        b"  UNIQUE KEY `uq_note` (`note`),\n"
        b"  FULLTEXT KEY `ft_note` (`note`)\n"
        b") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
    assert split.alter_sql == (
        b"ALTER TABLE `movings` ADD KEY `tenant_id` (`tenant_id`), "
        b"ADD INDEX `room_note` (`room_id`,`note`(10))"
    )


def test_tables_with_foreign_keys_keep_every_index() -> None:
    create = CREATE.replace(
        b"  PRIMARY KEY (`id`),",
        b"  PRIMARY KEY (`id`),\n"
        b"  CONSTRAINT `fk` FOREIGN KEY (`tenant_id`) REFERENCES `t` (`id`),",
    )
    split = defer_secondary_keys(create, "`movings`")

    assert (split.create_sql, split.alter_sql) == (create, None)


def test_tables_without_plain_keys_are_unchanged() -> None:
    create = b"CREATE TABLE `t` (`a` int, PRIMARY KEY (`a`))"
    assert defer_secondary_keys(create, "`t`").alter_sql is None

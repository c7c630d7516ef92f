"""DDL of the source system's tables, as the operator's MySQL defines them (utf8mb4, InnoDB).

Master tables (``m_nationalities``, ``m_media``) and the ``room_status_logs`` log are not
read by analytics; they are here because real dumps carry dozens of such tables.
"""

from __future__ import annotations

TABLE_DDL: dict[str, str] = {
    "apartments": """
CREATE TABLE `apartments` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `unique_number` varchar(20) NOT NULL,
  `apartment_name` varchar(255) NOT NULL,
  `apartment_name_en` varchar(255) DEFAULT NULL,
  `prefecture` varchar(20) DEFAULT NULL,
  `municipality` varchar(50) DEFAULT NULL,
  `address` varchar(255) DEFAULT NULL,
  `zip_code` varchar(10) DEFAULT NULL,
  `latitude` decimal(10,7) DEFAULT NULL,
  `longitude` decimal(10,7) DEFAULT NULL,
  `room_count` int(11) DEFAULT NULL,
  `vacancy_room_count` int(11) DEFAULT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `apartments_unique_number` (`unique_number`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "rooms": """
CREATE TABLE `rooms` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `apartment_id` int(11) NOT NULL,
  `room_number` varchar(20) NOT NULL,
  `rent` int(11) DEFAULT NULL,
  `condo_fee` int(11) DEFAULT NULL,
  `room_floor` int(11) DEFAULT NULL,
  `capacity` int(11) DEFAULT NULL,
  `gender_type` tinyint(4) DEFAULT NULL,
  `bed_type` varchar(20) DEFAULT NULL,
  `status` tinyint(4) DEFAULT NULL,
  `moving_id` int(11) DEFAULT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `rooms_apartment_id` (`apartment_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "tenants": """
CREATE TABLE `tenants` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `moving_id` int(11) DEFAULT NULL,
  `inquiry_id` int(11) DEFAULT NULL,
  `status` tinyint(4) NOT NULL DEFAULT 0,
  `contract_type` tinyint(4) DEFAULT NULL,
  `full_name` varchar(255) DEFAULT NULL,
  `last_name` varchar(128) DEFAULT NULL,
  `first_name` varchar(128) DEFAULT NULL,
  `gender_type` tinyint(4) DEFAULT NULL,
  `birth_date` date DEFAULT NULL,
  `age` int(11) DEFAULT NULL,
  `nationality` varchar(64) DEFAULT NULL,
  `m_nationality_id` int(11) DEFAULT NULL,
  `affiliation` varchar(255) DEFAULT NULL,
  `affiliation_type` int(11) DEFAULT NULL,
  `personal_identity` int(11) DEFAULT NULL,
  `media_id` int(11) DEFAULT NULL,
  `reason_moveout` int(11) DEFAULT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `tenants_moving_id` (`moving_id`),
  KEY `tenants_status` (`status`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "movings": """
CREATE TABLE `movings` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `tenant_id` int(11) NOT NULL,
  `apartment_id` int(11) NOT NULL,
  `room_id` int(11) NOT NULL,
  `movein_date` date DEFAULT NULL,
  `movein_decided_date` date DEFAULT NULL,
  `original_movein_date` date DEFAULT NULL,
  `rent_start_date` date DEFAULT NULL,
  `expiration_date` date DEFAULT NULL,
  `moveout_receipt_date` date DEFAULT NULL,
  `moveout_date` date DEFAULT NULL,
  `moveout_plans_date` date DEFAULT NULL,
  `moveout_date_integrated` date DEFAULT NULL,
  `moving_agreement_type` tinyint(4) DEFAULT NULL,
  `rent` int(11) DEFAULT NULL,
  `condo_fee` int(11) DEFAULT NULL,
  `administrative_fee` int(11) DEFAULT NULL,
  `cancel_flag` tinyint(1) DEFAULT NULL,
  `is_moveout` tinyint(1) NOT NULL DEFAULT 0,
  `move_renew_flag` tinyint(1) NOT NULL DEFAULT 0,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `movings_tenant_id` (`tenant_id`),
  KEY `movings_room_id` (`room_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "inquiries": """
CREATE TABLE `inquiries` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `tenant_id` int(11) DEFAULT NULL,
  `channel` varchar(64) DEFAULT NULL,
  `note` text DEFAULT NULL,
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `inquiries_tenant_id` (`tenant_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "m_nationalities": """
CREATE TABLE `m_nationalities` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `nationality_name` varchar(64) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "m_media": """
CREATE TABLE `m_media` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `media_name` varchar(64) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    "room_status_logs": """
CREATE TABLE `room_status_logs` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `room_id` int(11) NOT NULL,
  `old_status` tinyint(4) DEFAULT NULL,
  `new_status` tinyint(4) DEFAULT NULL,
  `created_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `room_status_logs_room_id` (`room_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
}

#: Tables that carry ``updated_at`` (the manifest reports its maximum per table).
TABLES_WITH_UPDATED_AT: tuple[str, ...] = (
    "apartments",
    "rooms",
    "tenants",
    "movings",
    "inquiries",
)

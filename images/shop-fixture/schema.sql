-- shop-fixture schema: the PrestaShop tables demux's prestashop profile
-- touches (same names and column types as PrestaShop 8, reduced to the
-- columns used), plus a small product table. @shop_domain and @alias_domain
-- are set by setup.sh from image.conf, @admin_email and @admin_passwd (the
-- back-office login and its bcrypt hash) from the build's admin credentials.

CREATE TABLE ps_shop_url (
  id_shop_url INT UNSIGNED NOT NULL AUTO_INCREMENT,
  id_shop INT UNSIGNED NOT NULL,
  domain VARCHAR(150) NOT NULL,
  domain_ssl VARCHAR(150) NOT NULL,
  physical_uri VARCHAR(64) NOT NULL,
  virtual_uri VARCHAR(64) NOT NULL,
  main TINYINT(1) NOT NULL,
  active TINYINT(1) NOT NULL,
  PRIMARY KEY (id_shop_url),
  UNIQUE KEY full_shop_url (domain, physical_uri, virtual_uri),
  UNIQUE KEY full_shop_url_ssl (domain_ssl, physical_uri, virtual_uri),
  KEY id_shop (id_shop, main)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ps_configuration (
  id_configuration INT UNSIGNED NOT NULL AUTO_INCREMENT,
  id_shop_group INT UNSIGNED DEFAULT NULL,
  id_shop INT UNSIGNED DEFAULT NULL,
  name VARCHAR(254) NOT NULL,
  value TEXT,
  date_add DATETIME NOT NULL,
  date_upd DATETIME NOT NULL,
  PRIMARY KEY (id_configuration),
  KEY name (name),
  KEY id_shop (id_shop),
  KEY id_shop_group (id_shop_group)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ps_smarty_cache (
  id_smarty_cache CHAR(40) NOT NULL,
  name CHAR(40) NOT NULL,
  cache_id VARCHAR(254) DEFAULT NULL,
  modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  content LONGTEXT NOT NULL,
  PRIMARY KEY (id_smarty_cache),
  KEY name (name),
  KEY cache_id (cache_id),
  KEY modified (modified)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ps_smarty_lazy_cache (
  template_hash VARCHAR(32) NOT NULL DEFAULT '',
  cache_id VARCHAR(191) NOT NULL DEFAULT '',
  compile_id VARCHAR(32) NOT NULL DEFAULT '',
  filepath VARCHAR(255) NOT NULL DEFAULT '',
  last_update DATETIME NOT NULL,
  PRIMARY KEY (template_hash, cache_id, compile_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The back-office login, as PrestaShop 1.7/8 keeps it: passwd is a PHP
-- password_hash() (bcrypt), checked with password_verify().
CREATE TABLE ps_employee (
  id_employee INT UNSIGNED NOT NULL AUTO_INCREMENT,
  email VARCHAR(255) NOT NULL,
  passwd VARCHAR(255) NOT NULL,
  PRIMARY KEY (id_employee),
  KEY employee_login (email, passwd)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE ps_product (
  id_product INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(128) NOT NULL,
  price DECIMAL(20,6) NOT NULL DEFAULT '0.000000',
  date_add DATETIME NOT NULL,
  PRIMARY KEY (id_product)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Shop 1: the main URL and a non-main alias (PrestaShop's "shop URLs" tab).
INSERT INTO ps_shop_url (id_shop_url, id_shop, domain, domain_ssl, physical_uri, virtual_uri, main, active) VALUES
  (1, 1, @shop_domain, @shop_domain, '/', '', 1, 1),
  (2, 1, @alias_domain, @alias_domain, '/', '', 0, 1);

-- Global configuration rows (id_shop_group and id_shop NULL), as PrestaShop's
-- installer writes them.
INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) VALUES
  (NULL, NULL, 'PS_SHOP_DOMAIN', @shop_domain, NOW(), NOW()),
  (NULL, NULL, 'PS_SHOP_DOMAIN_SSL', @shop_domain, NOW(), NOW()),
  (NULL, NULL, 'PS_SHOP_NAME', 'demux Fixture Shop', NOW(), NOW()),
  (NULL, NULL, 'PS_SHOP_EMAIL', 'shop@example.com', NOW(), NOW()),
  (NULL, NULL, 'PS_SHOP_DEFAULT', '1', NOW(), NOW()),
  (NULL, NULL, 'PS_SSL_ENABLED', '0', NOW(), NOW()),
  (NULL, NULL, 'PS_SSL_ENABLED_EVERYWHERE', '0', NOW(), NOW()),
  (NULL, NULL, 'PS_REWRITING_SETTINGS', '1', NOW(), NOW()),
  (NULL, NULL, 'PS_SMARTY_CACHE', '1', NOW(), NOW()),
  (NULL, NULL, 'PS_SMARTY_CACHING_TYPE', 'mysql', NOW(), NOW()),
  (NULL, NULL, 'PS_LANG_DEFAULT', '1', NOW(), NOW()),
  (NULL, NULL, 'PS_CURRENCY_DEFAULT', '1', NOW(), NOW()),
  (NULL, NULL, 'PS_VERSION_DB', '8.1.7', NOW(), NOW());

INSERT INTO ps_employee (id_employee, email, passwd) VALUES (1, @admin_email, @admin_passwd);

INSERT INTO ps_product (name, price, date_add) VALUES
  ('Hummingbird printed t-shirt', 23.900000, NOW()),
  ('Hummingbird printed sweater', 35.900000, NOW()),
  ('The best is yet to come framed poster', 29.000000, NOW()),
  ('Mug The adventure begins', 11.900000, NOW()),
  ('Mountain fox notebook', 12.900000, NOW());

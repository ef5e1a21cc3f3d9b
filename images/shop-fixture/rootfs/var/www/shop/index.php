<?php
/*
 * shop-fixture — a TEST FIXTURE for demux's PrestaShop profile, not PrestaShop.
 *
 * It reproduces the parts of PrestaShop's host handling that matter after a
 * checkpoint restore:
 *   - the shop is found from the Host header (lower-cased, port KEPT, as
 *     Tools::getHttpHost() returns it) in an active ps_shop_url row (domain
 *     or domain_ssl); no match answers 302 to
 *     http://<main domain of shop 1><physical_uri> (Shop::initialize). A shop
 *     served on a port other than 80 stores "host:port" in shop_url;
 *   - every link is absolute, built from PS_SHOP_DOMAIN in ps_configuration;
 *   - the product list fragment, links included, is cached in ps_smarty_cache
 *     (and noted in ps_smarty_lazy_cache): a copy whose domain was changed but
 *     whose caches were not cleared still shows the old domain's links.
 *   - the back-office login is a ps_employee row whose passwd is a bcrypt
 *     hash checked with password_verify, as PrestaShop 1.7/8 does; demux's
 *     profile gives every copy its own password by rewriting that hash.
 *   - with PS_SSL_ENABLED and PS_SSL_ENABLED_EVERYWHERE set, links are
 *     https://<PS_SHOP_DOMAIN_SSL>/ and a request PHP does not see as secure
 *     (HTTPS=on) is redirected to https, as FrontController::sslRedirection
 *     does: a copy behind a TLS proxy that does not pass the scheme on
 *     redirects to itself forever.
 * Routes: /health (no host matching), /, /product/N, POST /add, /admin
 * (HTTP basic auth: user = ps_employee.email, password checked against
 * ps_employee.passwd).
 */
declare(strict_types=1);

$cfg = require '/etc/demux/shop.php';
$P = $cfg['db_prefix'];
$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
$method = $_SERVER['REQUEST_METHOD'] ?? 'GET';

mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);

function db(array $cfg): mysqli
{
    $db = new mysqli($cfg['db_host'], $cfg['db_user'], $cfg['db_password'], $cfg['db_name'], (int) $cfg['db_port']);
    $db->set_charset('utf8mb4');
    return $db;
}

function q(mysqli $db, string $sql, string $types = '', array $args = []): array
{
    $st = $db->prepare($sql);
    if ($types !== '') {
        $st->bind_param($types, ...$args);
    }
    $st->execute();
    $res = $st->get_result();
    $rows = $res ? $res->fetch_all(MYSQLI_ASSOC) : [];
    $st->close();
    return $rows;
}

function h(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_HTML5, 'UTF-8');
}

function page(string $title, string $body, string $host): void
{
    header('Content-Type: text/html; charset=utf-8');
    echo "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", h($title), "</title></head>\n<body>\n",
        $body,
        "\n<footer><hr><small>shop-fixture: a test fixture that reproduces PrestaShop's host handling ",
        "(shop_url lookup, 302 to the main domain, absolute links from PS_SHOP_DOMAIN, smarty cache) ",
        "for demux. It is not PrestaShop. Served for host <code>", h($host), "</code>.</small></footer>\n</body></html>\n";
}

if ($path === '/health') {
    try {
        q(db($cfg), 'SELECT 1');
        header('Content-Type: text/plain');
        echo "ok\n";
    } catch (Throwable $e) {
        http_response_code(503);
        header('Content-Type: text/plain');
        echo "database unavailable\n";
    }
    exit;
}

$db = db($cfg);

// Shop::initialize: which shop does this Host belong to?
$host = strtolower((string) ($_SERVER['HTTP_HOST'] ?? ''));
$url = q($db, "SELECT id_shop, physical_uri FROM {$P}shop_url WHERE active = 1 AND (domain = ? OR domain_ssl = ?) LIMIT 1",
    'ss', [$host, $host]);
if (!$url) {
    $main = q($db, "SELECT domain, physical_uri FROM {$P}shop_url WHERE id_shop = 1 AND main = 1 LIMIT 1");
    if (!$main) {
        http_response_code(500);
        exit("no main shop_url for shop 1\n");
    }
    header('Location: http://' . $main[0]['domain'] . $main[0]['physical_uri'], true, 302);
    exit;
}
$idShop = (int) $url[0]['id_shop'];

$conf = [];
foreach (q($db, "SELECT name, value FROM {$P}configuration WHERE name IN ('PS_SHOP_DOMAIN', 'PS_SHOP_NAME',
        'PS_SHOP_DOMAIN_SSL', 'PS_SSL_ENABLED', 'PS_SSL_ENABLED_EVERYWHERE')
        AND (id_shop IS NULL OR id_shop = ?) ORDER BY id_shop IS NULL", 'i', [$idShop]) as $row) {
    $conf[$row['name']] ??= (string) $row['value'];
}
$shopName = $conf['PS_SHOP_NAME'] ?? 'shop';
$ssl = ($conf['PS_SSL_ENABLED'] ?? '0') === '1' && ($conf['PS_SSL_ENABLED_EVERYWHERE'] ?? '0') === '1';
$secure = in_array(strtolower((string) ($_SERVER['HTTPS'] ?? '')), ['on', '1'], true);
if ($ssl && !$secure) {
    header('Location: https://' . $host . ($_SERVER['REQUEST_URI'] ?? '/'), true, 301);
    exit;
}
$base = ($ssl ? 'https://' . ($conf['PS_SHOP_DOMAIN_SSL'] ?? $host) : 'http://' . ($conf['PS_SHOP_DOMAIN'] ?? $host))
    . $url[0]['physical_uri'];

if ($method === 'POST' && $path === '/add') {
    $name = trim((string) ($_POST['name'] ?? ''));
    $price = (string) ($_POST['price'] ?? '0');
    if (!preg_match('/^.{1,128}$/us', $name) || !preg_match('/^\d{1,10}(\.\d{1,6})?$/', $price)) {
        http_response_code(400);
        page($shopName, '<p>Bad product: a name (1-128 characters) and a price such as 9.90 are needed.</p>', $host);
        exit;
    }
    q($db, "INSERT INTO {$P}product (name, price, date_add) VALUES (?, ?, NOW())", 'ss', [$name, $price]);
    q($db, "DELETE FROM {$P}smarty_cache WHERE name = 'product_list'");
    q($db, "DELETE FROM {$P}smarty_lazy_cache WHERE cache_id = 'product_list'");
    header('Location: ' . $base, true, 303);
    exit;
}

if ($path === '/admin' || $path === '/admin/') {
    $ok = false;
    if (isset($_SERVER['PHP_AUTH_USER'], $_SERVER['PHP_AUTH_PW'])) {
        $emp = q($db, "SELECT passwd FROM {$P}employee WHERE email = ? LIMIT 1", 's', [(string) $_SERVER['PHP_AUTH_USER']]);
        $ok = $emp && password_verify((string) $_SERVER['PHP_AUTH_PW'], $emp[0]['passwd']);
    }
    if (!$ok) {
        header('WWW-Authenticate: Basic realm="shop-fixture admin"');
        http_response_code(401);
        page($shopName, '<p>Login required.</p>', $host);
        exit;
    }
    $b = '<h1>' . h($shopName) . ' — back office</h1><h2>Shop URLs</h2><table border="1">'
        . '<tr><th>id</th><th>domain</th><th>domain_ssl</th><th>main</th><th>active</th></tr>';
    foreach (q($db, "SELECT id_shop_url, domain, domain_ssl, main, active FROM {$P}shop_url ORDER BY id_shop_url") as $r) {
        $b .= '<tr><td>' . h((string) $r['id_shop_url']) . '</td><td>' . h($r['domain']) . '</td><td>' . h($r['domain_ssl'])
            . '</td><td>' . h((string) $r['main']) . '</td><td>' . h((string) $r['active']) . '</td></tr>';
    }
    $cached = q($db, "SELECT COUNT(*) AS n FROM {$P}smarty_cache")[0]['n'];
    $b .= '</table><p>PS_SHOP_DOMAIN: <code>' . h($conf['PS_SHOP_DOMAIN'] ?? '') . '</code>; smarty cache rows: '
        . h((string) $cached) . '</p><p><a href="' . h($base) . '">Back to the shop</a></p>';
    page($shopName, $b, $host);
    exit;
}

if ($method === 'GET' && preg_match('#^/product/(\d+)$#', $path, $m)) {
    $rows = q($db, "SELECT id_product, name, price FROM {$P}product WHERE id_product = ?", 'i', [(int) $m[1]]);
    if (!$rows) {
        http_response_code(404);
        page($shopName, '<p>No such product. <a href="' . h($base) . '">Home</a></p>', $host);
        exit;
    }
    page($rows[0]['name'] . ' — ' . $shopName, '<h1>' . h($rows[0]['name']) . '</h1><p>Price: '
        . h(number_format((float) $rows[0]['price'], 2)) . ' €</p><p><a href="' . h($base) . '">Home</a></p>', $host);
    exit;
}

if ($method !== 'GET' || $path !== '/') {
    http_response_code(404);
    page($shopName, '<p>Page not found. <a href="' . h($base) . '">Home</a></p>', $host);
    exit;
}

// Home: the product list comes from the smarty cache when present.
$cache = q($db, "SELECT content FROM {$P}smarty_cache WHERE name = 'product_list' LIMIT 1");
if ($cache) {
    $list = $cache[0]['content'];
    header('X-Shop-Cache: hit');
} else {
    $list = "<ul class=\"products\">\n";
    foreach (q($db, "SELECT id_product, name, price FROM {$P}product ORDER BY id_product") as $r) {
        $list .= '<li><a href="' . h($base . 'product/' . $r['id_product']) . '">' . h($r['name']) . '</a> — '
            . h(number_format((float) $r['price'], 2)) . " €</li>\n";
    }
    $list .= "</ul>\n";
    $id = sha1('product_list');
    q($db, "INSERT INTO {$P}smarty_cache (id_smarty_cache, name, cache_id, content) VALUES (?, 'product_list', ?, ?)
        ON DUPLICATE KEY UPDATE content = VALUES(content)", 'sss', [$id, 'product_list|shop' . $idShop, $list]);
    q($db, "REPLACE INTO {$P}smarty_lazy_cache (template_hash, cache_id, compile_id, filepath, last_update)
        VALUES (?, 'product_list', '', ?, NOW())", 'ss', [md5('catalog/listing/product-list.tpl'), "product_list/$id.tpl"]);
    header('X-Shop-Cache: miss');
}

page($shopName, '<header><h1><a href="' . h($base) . '">' . h($shopName) . '</a></h1>'
    . '<nav><a href="' . h($base) . '">Home</a> · <a href="' . h($base . 'admin') . '">Back office</a></nav></header>'
    . "\n<h2>Products</h2>\n" . $list
    . '<h2>Add a product</h2><form method="post" action="' . h($base . 'add') . '">'
    . '<label>Name <input name="name" required maxlength="128"></label> '
    . '<label>Price <input name="price" value="9.90"></label> <button>Add</button></form>', $host);

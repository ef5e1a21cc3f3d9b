<?php
/*
 * Runs WordPress's installer at image build time (inside the build chroot,
 * MariaDB running): the same wp_install() the web installer calls.
 * Environment: DOMAIN ADMIN_USER ADMIN_PASSWORD, HTTP_HOST = DOMAIN.
 */
$domain = getenv('DOMAIN');
$_SERVER['HTTP_HOST'] = $domain;
$_SERVER['SERVER_NAME'] = $domain;
$_SERVER['SERVER_PORT'] = '80';
$_SERVER['REQUEST_URI'] = '/wp-admin/install.php';
$_SERVER['REQUEST_METHOD'] = 'GET';
$_SERVER['SERVER_SOFTWARE'] = 'nginx';
define('WP_INSTALLING', true);

require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (is_blog_installed()) {
    fwrite(STDERR, "wordpress: already installed\n");
    exit(1);
}
$url = 'http://' . $domain;
// No mail transport in the image: skip the "new site" e-mail.
add_filter('pre_wp_mail', '__return_false');
$result = wp_install('demux WordPress demo', getenv('ADMIN_USER'), 'admin@example.com', true, '',
    wp_slash(getenv('ADMIN_PASSWORD')));
if (is_wp_error($result) || empty($result['user_id'])) {
    fwrite(STDERR, "wordpress: wp_install failed\n");
    exit(1);
}
update_option('siteurl', $url);
update_option('home', $url);
update_option('blogdescription', 'A private WordPress copy served by demux');
// Pretty links: nginx routes unknown paths to index.php.
global $wp_rewrite;
$wp_rewrite->set_permalink_structure('/%postname%/');
update_option('rewrite_rules', '');
echo "wordpress: installed, admin user id {$result['user_id']}, siteurl ", get_option('siteurl'), "\n";

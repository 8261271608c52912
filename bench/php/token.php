<?php
// The php-fpm peer of app-inbox-fcgi in bench/run: the token exchange as a site owner writes it
// with php-curl, one curl handle per request. The front nginx passes the signed-in user as the
// FastCGI param INBOX_EMAIL; the pool's env[] gives the endpoint, the CA and the API key.
header('Content-Type: application/json');
header('Cache-Control: no-store, private');
header('X-Content-Type-Options: nosniff');

$email = trim($_SERVER['INBOX_EMAIL'] ?? '');
if ($email === '') {
    http_response_code(401);
    echo '{"error":"unauthenticated","message":"sign in first"}';
    exit;
}

$curl = curl_init(getenv('BENCH_TOKEN_URL'));
curl_setopt_array($curl, [
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => json_encode(['email' => $email]),
    CURLOPT_HTTPHEADER => ['Content-Type: application/json', 'Accept: application/json', 'Expect:'],
    CURLOPT_USERPWD => 'app-inbox-php:' . getenv('BENCH_API_KEY'),
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_CAINFO => getenv('BENCH_CA_FILE'),
    CURLOPT_CONNECTTIMEOUT_MS => 2000,
    CURLOPT_TIMEOUT_MS => 5000,
]);
$body = curl_exec($curl);
$status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
curl_close($curl);

$answer = $status === 200 && is_string($body) ? json_decode($body, true) : null;
if (!is_array($answer) || !is_string($answer['token'] ?? null)) {
    http_response_code($body === false ? 503 : 502);
    echo '{"error":"bad_upstream_response","message":"eSputnik did not answer a token"}';
    exit;
}
echo json_encode(['token' => $answer['token']], JSON_UNESCAPED_SLASHES | JSON_HEX_TAG | JSON_HEX_AMP);

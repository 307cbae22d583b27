/**
 * Weak HMAC secrets seen in the wild (framework defaults, tutorial values, common words).
 * Small on purpose: a scan tries it offline against one token, in milliseconds. Add
 * your own with `--jwt-wordlist FILE` (tried after these).
 */
export const JWT_WORDLIST: readonly string[] = `
secret secretkey secret-key secret_key mysecret my-secret my_secret mysecretkey supersecret super-secret
topsecret jwt jwtsecret jwt-secret jwt_secret jwtkey jwt-key jwt_key jwtSecret JWT_SECRET JWTSecret
key key1 key123 mykey privatekey private-key private_key publickey signingkey signing-key hmac hmacsecret
changeme change-me change_me changeit changethis change-this-secret please-change-me replaceme
password password1 password123 passw0rd Password Password1 pass pass123 admin admin123 administrator
root toor 123456 1234567 12345678 123456789 1234567890 12345 1234 qwerty qwerty123 abc123 abcdef
letmein welcome welcome1 iloveyou monkey dragon master login test test123 testing tester demo
default defaultsecret default-secret example sample token tokensecret token-secret auth authsecret
auth-secret session sessionsecret session-secret app appsecret app-secret application api apisecret
api-secret apikey api-key api_key server serversecret backend node nodejs express expresssecret
django flask rails laravel spring springboot keyboard cat keyboardcat keyboard-cat shhhhh shhh shh
s3cr3t s3cret secr3t 5ecret Secret SECRET SecretKey SECRETKEY your-256-bit-secret your-secret
yoursecret your_secret your-secret-key your_jwt_secret my_jwt_secret my-jwt-secret gophers
hello helloworld hello-world foobar foo bar baz qwertyuiop asdfgh asdf zxcvbn random
development dev devsecret production prod staging local localhost 000000 111111 secret123 secret1
`
  .split(/\s+/)
  .filter(Boolean);

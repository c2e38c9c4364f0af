// libargon2 (Debian's libargon2-dev): argon2id_hash_encoded and argon2id_verify.
#include <argon2.h>

// hiredis 0.14 (Debian 12). No pkgConfig in Package.swift: its .pc adds -D_FILE_OFFSET_BITS=64,
// which SwiftPM rejects. Only redisConnectWithTimeout, redisSetTimeout, redisCommandArgv,
// freeReplyObject and redisFree are used (variadic redisCommand is not callable from Swift).
#include <hiredis/hiredis.h>

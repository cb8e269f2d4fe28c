/*
 * log.h - the one logger.
 *
 * One line per event, to stderr (with a timestamp) or to syslog. Session code
 * logs through log_msg() with its own prefix ("pop3 #12 [192.0.2.1]:5012").
 * Nothing secret is ever passed here: callers log user names, never passwords
 * or authentication payloads.
 */
#ifndef OP_BASE_LOG_H
#define OP_BASE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* dest: "stderr" or "syslog". Safe to call again on reload. */
int  log_setup(const char *dest, enum log_level level);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool log_enabled(enum log_level lvl);

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LVL_DEBUG)) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif

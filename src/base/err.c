#include "base/err.h"

#include <string.h>

const char *op_strerror(int code)
{
    switch (code) {
    case OP_E_SYNTAX:   return "syntax error";
    case OP_E_TOOLONG:  return "too long";
    case OP_E_NOTFOUND: return "not found";
    case OP_E_EXISTS:   return "already exists";
    case OP_E_LOCKED:   return "in use by another session";
    case OP_E_AUTH:     return "authentication failed";
    case OP_E_CONFIG:   return "configuration error";
    case OP_E_TLS:      return "TLS error";
    case OP_E_DB:       return "database error";
    case OP_E_CLOSED:   return "connection closed";
    case OP_E_LIMIT:    return "limit reached";
    default: break;
    }
    if (code < 0 && code > OP_E_BASE)
        return strerror(-code);
    return code == 0 ? "success" : "unknown error";
}

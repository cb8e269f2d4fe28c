/* Unit tests for the FTP command tables (src/ftp/prelogin.c,
 * postlogin.c): the surface before login is exactly the audited list, and
 * every command has a handler and a HELP line. */
#include "test.h"

#include "ftp/session.h"

TEST(ftp_prelogin_surface)
{
    static const enum ftp_verb allowed[] = {
        FTP_USER, FTP_PASS, FTP_ACCT, FTP_AUTH, FTP_PBSZ, FTP_PROT, FTP_CCC, FTP_HOST,
        FTP_FEAT, FTP_OPTS, FTP_SYST, FTP_NOOP, FTP_HELP, FTP_QUIT, FTP_REIN, FTP_ABOR,
        FTP_STAT,
    };
    CHECK_INT(ftp_nprelogin, sizeof allowed / sizeof allowed[0]);
    for (size_t i = 0; i < ftp_nprelogin; i++) {
        bool ok = false;
        for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
            ok |= ftp_prelogin[i].verb == allowed[k];
        if (!ok)
            fprintf(stderr, "    %s reachable before login\n", ftp_verb_name(ftp_prelogin[i].verb));
        CHECK(ok);
        CHECK(ftp_prelogin[i].fn != NULL && ftp_prelogin[i].help != NULL);
    }
}

TEST(ftp_postlogin_covers_every_verb)
{
    for (int v = 0; v < FTP_UNKNOWN; v++) {
        const struct ftp_command *e = NULL;
        for (size_t i = 0; i < ftp_npostlogin; i++)
            if (ftp_postlogin[i].verb == (enum ftp_verb)v)
                e = &ftp_postlogin[i];
        if (!e)
            fprintf(stderr, "    %s has no handler after login\n", ftp_verb_name((enum ftp_verb)v));
        CHECK(e != NULL);
        if (e)
            CHECK(e->fn != NULL && e->help != NULL);
    }
}

/* format.c - text helpers of the mnemo CLI (see format.h).
 *
 * DESIGN: the CLI shows what the server stores, which is UTF-8 text of any
 * shape; these helpers keep the terminal output on one line per row and
 * never split a character. Part of mnemo_cli_core. Threads: any.
 */
#include "format.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int cli_exit_code(int code, int unreachable)
{
    if (code == MNEMO_CODE_OK)
        return CLI_EXIT_OK;
    if (unreachable && (code == MNEMO_CODE_UNAVAILABLE || code == MNEMO_CODE_DEADLINE_EXCEEDED))
        return CLI_EXIT_UNREACHABLE;
    return CLI_EXIT_SERVER;
}

char *cli_format_time(char buf[CLI_TIME_MAX], int64_t ms)
{
    /* Floor division, so that times before 1970 keep a positive remainder. */
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
        snprintf(buf, CLI_TIME_MAX, "-");
        return buf;
    }
    char text[96]; /* roomy enough for any int the compiler imagines */
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
    size_t n = strlen(text);
    n = n < CLI_TIME_MAX ? n : CLI_TIME_MAX - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    return buf;
}

size_t cli_utf8_seq(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4;
    else
        return 0;
    if (s[0] == 0xE0)
        lo = 0xA0; /* overlong */
    else if (s[0] == 0xED)
        hi = 0x9F; /* surrogates */
    else if (s[0] == 0xF0)
        lo = 0x90; /* overlong */
    else if (s[0] == 0xF4)
        hi = 0x8F; /* beyond U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

size_t cli_display_width(const char *s)
{
    size_t n = strlen(s), width = 0;
    for (size_t i = 0; i < n; width++) {
        size_t seq = cli_utf8_seq(s + i, n - i);
        i += seq != 0 ? seq : 1;
    }
    return width;
}

/* Byte offset in s (valid UTF-8) after its first chars characters. */
static size_t offset_of_char(const char *s, size_t chars)
{
    size_t n = strlen(s), i = 0;
    while (i < n && chars-- > 0) {
        size_t seq = cli_utf8_seq(s + i, n - i);
        i += seq != 0 ? seq : 1;
    }
    return i;
}

/* Normalises text into buf (see cli_preview) and stops after max_chars + 1
 * characters or when buf is full; returns 1 when text did not fit. */
static int normalise(char *buf, size_t bufsize, const char *text, size_t max_chars)
{
    size_t len = strlen(text), out = 0, chars = 0;
    int space = 0;
    for (size_t i = 0; i < len;) {
        unsigned char ch = (unsigned char)text[i];
        if (ch <= ' ' || ch == 0x7F) {
            space = chars > 0;
            i++;
            continue;
        }
        size_t seq = cli_utf8_seq(text + i, len - i);
        size_t need = (seq != 0 ? seq : 1) + (space ? 1 : 0);
        if (chars + (space ? 1 : 0) >= max_chars + 1 || out + need >= bufsize) {
            buf[out] = '\0';
            return 1;
        }
        if (space) {
            buf[out++] = ' ';
            chars++;
            space = 0;
        }
        if (seq != 0)
            memcpy(buf + out, text + i, seq);
        else
            buf[out] = '?';
        out += seq != 0 ? seq : 1;
        i += seq != 0 ? seq : 1;
        chars++;
    }
    buf[out] = '\0';
    return chars > max_chars;
}

void cli_preview(char *buf, size_t bufsize, const char *text, size_t max_chars)
{
    if (bufsize == 0)
        return;
    if (!normalise(buf, bufsize, text, max_chars))
        return;
    size_t keep = offset_of_char(buf, max_chars >= 3 ? max_chars - 3 : 0);
    while (keep > 0 && buf[keep - 1] == ' ')
        keep--;
    if (max_chars >= 3 && keep + 3 < bufsize)
        memcpy(buf + keep, "...", 4);
    else
        buf[keep] = '\0';
}

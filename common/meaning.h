/*
 * meaning.h - the meaning guard: do two conversations ask the same thing?
 *
 * A vector search finds past queries that are *worded* alike; it cannot see
 * that "enable 2FA" and "disable 2FA", or "12*7" and "12*8", ask different
 * things, because those texts share almost every feature. Before a past
 * answer is reused (the memory student) or shown as a near copy, the guard
 * looks for the differences embeddings miss. It errs on the side of "not the
 * same": a false "different" costs one cache miss, a false "same" returns a
 * wrong answer.
 *
 * Conversation text. The router and the workers embed, store and compare one
 * text per conversation, made by lyc_conversation_text(): one line per turn,
 * oldest first,
 *
 *     <role>: <content>
 *
 * where role is the message's role in lower case ("system", "user",
 * "assistant", ...) and content is the turn's text with every run of
 * whitespace (newlines included) collapsed to one space and both ends
 * trimmed, so a turn never spans two lines. Lines are joined by "\n" with no
 * newline at the end. A turn with empty content is written "<role>:".
 *
 * lyc_meaning_same(a, b) returns 1 only when it finds no difference:
 *
 *   turns     the number of lines differs, or an earlier turn (every line but
 *             the last) differs after case folding, whitespace collapsing and
 *             dropping sentence punctuation (.,;:!? before a space or the
 *             end), or the last turns' roles differ;
 *   and, in the last turn:
 *   numbers   the multisets of numbers differ. "1,000" and "1000" are the
 *             same number, so are "3.50" and "3.5"; "3.5" and "35" are not.
 *             A '-' directly before a number is its sign when it does not
 *             follow another number ("x = -3"; "12 - 7" is a subtraction).
 *             Number words zero..twenty, thirty..ninety, hundred, thousand,
 *             million, billion and the ordinals first..tenth count as the
 *             numbers they name; words mixing letters and digits ("ipv6",
 *             "x86", "2fa", "5kg") count as numbers, as written;
 *   negation  the multisets of negators differ: not (also "n't", "cannot"
 *             and the apostrophe-less "dont", "isnt", ...), no, never, none,
 *             nothing, nobody, nowhere, neither, nor, without, except,
 *             unless;
 *   polarity  the multisets of polar words differ, each a member of one of
 *             the antonym pairs listed in meaning.c (s_polar): enable/
 *             disable, on/off, allow/deny, include/exclude, increase/
 *             decrease, before/after, min/max, more/less, above/below,
 *             add/remove, start/stop, open/close, true/false, yes, first/
 *             last, upload/download, lock/unlock, login/logout, ... with
 *             their inflections; or one text has a word and the other the
 *             same word with a negating prefix (un-, in-, im-, il-, ir-,
 *             dis-, non-: "safe"/"unsafe");
 *   names     a name of one text is not a word of the other. Names are
 *             capitalised words not at the start of a sentence, words with
 *             a capital letter after the first character ("iPhone", "AWS"),
 *             and capitalised sentence-initial words that are not common
 *             sentence starters (what, how, is, please, the, ...); "I" is
 *             no name. A possessive "'s" is dropped ("Alice's" -> alice);
 *   quotes    the multisets of quoted strings differ ("...", '...', `...`,
 *             curly quotes), compared after case folding and whitespace
 *             collapsing.
 *
 * Everything else is compared case-insensitively and ignoring punctuation,
 * so texts that differ only in case, whitespace or punctuation are the same.
 * Letters are ASCII-folded; other UTF-8 text is compared as bytes.
 */
#ifndef LYCEUM_MEANING_H
#define LYCEUM_MEANING_H

#include <stddef.h>

#include "lyceum/v1/common.pb-c.h"

/* Returns 1 when the two conversation texts (see above) show no difference
 * in meaning the guard can detect, 0 when they do, and 0 when either is NULL
 * or memory runs out (never a false "same"). Thread-safe; no state. */
int lyc_meaning_same(const char *a, const char *b);

/* The conversation text of messages[0..n), in the format above, as a new
 * NUL-terminated string the caller frees with free(); NULL when out of
 * memory. NULL messages or NULL fields count as empty. The router and the
 * workers both use it, so they embed and compare the same text. */
char *lyc_conversation_text(Lyceum__V1__ChatMessage **messages, size_t n);

#endif

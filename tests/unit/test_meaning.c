/*
 * test_meaning.c - the meaning guard: pairs that differ in a number, a
 * negation, a polar word, a name, a quoted string or an earlier turn are
 * told apart; pairs that differ only in case, whitespace or punctuation are
 * not. Also the conversation text both the router and the workers embed.
 */
#include "testkit.h"

#include "meaning.h"

#include <stdlib.h>

static void s_differ(const char *a, const char *b)
{
    ck_assert_msg(lyc_meaning_same(a, b) == 0, "guard said same: '%s' / '%s'", a, b);
    ck_assert_msg(lyc_meaning_same(b, a) == 0, "guard said same: '%s' / '%s'", b, a);
}

static void s_same(const char *a, const char *b)
{
    ck_assert_msg(lyc_meaning_same(a, b) == 1, "guard said different: '%s' / '%s'", a, b);
    ck_assert_msg(lyc_meaning_same(b, a) == 1, "guard said different: '%s' / '%s'", b, a);
}

START_TEST(test_negation_differs)
{
    s_differ("How do I enable 2FA?", "How do I disable 2FA?");
    s_differ("Is the server running?", "Is the server not running?");
    s_differ("Why does it work?", "Why doesn't it work?");
    s_differ("Why does it work?", "Why doesnt it work?");
    s_differ("Can I log in without a password?", "Can I log in with a password?");
    s_differ("I never use tabs", "I always use tabs");
    s_differ("Turn the light on", "Turn the light off");
    s_differ("Allow access to port 22", "Deny access to port 22");
    s_differ("Include the header files", "Exclude the header files");
    s_differ("Should I increase the timeout?", "Should I decrease the timeout?");
    s_differ("Run it before the backup", "Run it after the backup");
    s_differ("What is the max value?", "What is the min value?");
    s_differ("Is this code safe?", "Is this code unsafe?");
    s_differ("Is this a valid address?", "Is this an invalid address?");
}
END_TEST

START_TEST(test_numbers_differ)
{
    s_differ("What is 12*7?", "What is 12*8?");
    s_differ("Set the price to 3.5", "Set the price to 35");
    s_differ("Convert 1,000 metres", "Convert 10,000 metres");
    s_differ("What is 12 - 7?", "What is 12 - 7 - 1?");
    s_differ("Is -3 a natural number?", "Is 3 a natural number?");
    s_differ("Give me three examples", "Give me four examples");
    s_differ("Give me three examples", "Give me 4 examples");
    s_differ("Configure IPv4 routing", "Configure IPv6 routing");
    s_differ("Lift 5kg", "Lift 50kg");
}
END_TEST

START_TEST(test_numbers_same_when_written_alike)
{
    s_same("Convert 1,000 metres to feet", "convert 1000 metres to feet");
    s_same("Is 3.50 more than 3?", "is 3.5 more than 3");
    s_same("Give me three examples", "give me 3 examples.");
    s_same("What is 007 in binary?", "What is 7 in binary?");
    s_same("What is 12-7?", "What is 12 - 7 ?");
    s_same("Is .5 the same as half?", "is 0.5 the same as half");
    s_same("Round 10,000,000 down", "round 10000000 down");
    s_same("Sort 1,2,3", "sort 1, 2, 3");
    s_same("x = -0", "x = 0");
    s_differ("Sort 1,2,3", "Sort 1,2,4");
    s_differ("Version 1.2.3", "Version 1.2.4");
}
END_TEST

START_TEST(test_names_and_quotes_differ)
{
    s_differ("Who is Alice's manager?", "Who is Bob's manager?");
    s_differ("Where does Alice live?", "Where does Carol live?");
    s_differ("Alice is the manager of which team?", "Carol is the manager of which team?");
    s_differ("Rename the file \"draft.txt\"", "Rename the file \"final.txt\"");
    s_differ("What does 'grep -v' do?", "What does 'grep -c' do?");
    s_differ("Deploy to AWS", "Deploy to GCP");
    s_differ("Reset my iPhone", "Reset my phone");
    s_differ("What does “hello” mean?", "What does “bye” mean?");
}
END_TEST

START_TEST(test_case_whitespace_punctuation_are_same)
{
    s_same("How do I reset my password?", "how do i reset my password");
    s_same("How do I reset   my\tpassword?", "How do I reset my password ?!");
    s_same("What is the capital of France?", "what is the capital of france");
    s_same("Who is Alice's manager?", "who is alice's manager");
    s_same("Why doesn't it work?", "why doesn't it work??");
    s_same("I don't know, what is 2+2?", "i don't know... what is 2 + 2");
    s_same("What does \"hello\" mean?", "what does \"Hello\" mean");
    s_same("user: How do I enable 2FA?", "user: how do I enable 2FA");
    s_same("", "");
}
END_TEST

START_TEST(test_earlier_turns_must_match)
{
    const char *a = "system: You are terse.\nuser: What is 2+2?\nassistant: 4\nuser: And times 3?";
    const char *b = "system: You are terse.\nuser: What is 2+3?\nassistant: 5\nuser: And times 3?";
    const char *c = "system: you are terse\nuser: what is 2+2?\nassistant: 4\nuser: and times 3";
    const char *d = "user: What is 2+2?\nassistant: 4\nuser: And times 3?";
    const char *e =
        "system: You are terse.\nuser: What is 2+2?\nassistant: 4\nassistant: And times 3?";
    s_differ(a, b);
    s_same(a, c);
    s_differ(a, d);
    s_differ(a, e);
    s_differ("user: Hello", "assistant: Hello");
}
END_TEST

START_TEST(test_null_is_never_same)
{
    ck_assert_int_eq(lyc_meaning_same(NULL, "x"), 0);
    ck_assert_int_eq(lyc_meaning_same("x", NULL), 0);
    ck_assert_int_eq(lyc_meaning_same(NULL, NULL), 0);
}
END_TEST

START_TEST(test_conversation_text_format)
{
    Lyceum__V1__ChatMessage sys = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage user = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage empty = LYCEUM__V1__CHAT_MESSAGE__INIT;
    sys.role = "System";
    sys.content = "  Be\nbrief.  ";
    user.role = "user";
    user.content = "What is\n\n 2+2?\t";
    empty.role = "assistant";
    empty.content = "";
    Lyceum__V1__ChatMessage *messages[] = {&sys, &user, &empty, NULL};
    messages[3] = NULL;

    char *text = lyc_conversation_text(messages, 3);
    ck_assert_str_eq(text, "system: Be brief.\nuser: What is 2+2?\nassistant:");
    free(text);

    text = lyc_conversation_text(messages + 1, 1);
    ck_assert_str_eq(text, "user: What is 2+2?");
    free(text);

    text = lyc_conversation_text(NULL, 0);
    ck_assert_str_eq(text, "");
    free(text);

    /* A NULL message or role counts as an empty user turn. */
    text = lyc_conversation_text(messages + 3, 1);
    ck_assert_str_eq(text, "user:");
    free(text);
}
END_TEST

START_TEST(test_guard_on_conversation_texts)
{
    Lyceum__V1__ChatMessage m1 = LYCEUM__V1__CHAT_MESSAGE__INIT;
    Lyceum__V1__ChatMessage m2 = LYCEUM__V1__CHAT_MESSAGE__INIT;
    m1.role = "user";
    m1.content = "How do I\nenable 2FA?";
    m2.role = "user";
    m2.content = "how do I enable 2FA";
    Lyceum__V1__ChatMessage *a[] = {&m1};
    Lyceum__V1__ChatMessage *b[] = {&m2};
    char *ta = lyc_conversation_text(a, 1);
    char *tb = lyc_conversation_text(b, 1);
    ck_assert_int_eq(lyc_meaning_same(ta, tb), 1);
    free(ta);
    free(tb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("meaning");
    TCase *tc = tcase_create("meaning");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_negation_differs);
    tcase_add_test(tc, test_numbers_differ);
    tcase_add_test(tc, test_numbers_same_when_written_alike);
    tcase_add_test(tc, test_names_and_quotes_differ);
    tcase_add_test(tc, test_case_whitespace_punctuation_are_same);
    tcase_add_test(tc, test_earlier_turns_must_match);
    tcase_add_test(tc, test_null_is_never_same);
    tcase_add_test(tc, test_conversation_text_format);
    tcase_add_test(tc, test_guard_on_conversation_texts);
    suite_add_tcase(s, tc);
    return lyc_test_run(s);
}

/*
 * testkit.c - shared helpers for the Check tests.
 */
#include "testkit.h"

#include "ids.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int lyc_test_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    int run = srunner_ntests_run(runner);
    srunner_free(runner);
    if (run == 0) /* a suite whose test cases were never added proves nothing */
        fprintf(stderr, "no test ran: is every TCase added to the suite?\n");
    return failed == 0 && run > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static const char *s_required_env(const char *name)
{
    const char *value = getenv(name);
    if (!value || !*value) {
        fprintf(stderr,
                "%s is not set: start the servers with `deploy/local/servers.sh up` and "
                "`eval \"$(deploy/local/servers.sh env)\"`\n",
                name);
        exit(EXIT_FAILURE);
    }
    return value;
}

const char *lyc_test_redis_url(void)
{
    return s_required_env("LYCEUM_REDIS_URL");
}

const char *lyc_test_kafka_brokers(void)
{
    return s_required_env("LYCEUM_KAFKA_BROKERS");
}

const char *lyc_test_redis_bin_dir(void)
{
    return s_required_env("LYCEUM_REDIS_BIN_DIR");
}

const char *lyc_test_source_path(char *buf, size_t cap, const char *relative)
{
    const char *root = getenv("LYCEUM_SOURCE_DIR");
    snprintf(buf, cap, "%s/%s", root ? root : ".", relative);
    return buf;
}

const char *lyc_test_unique(char *buf, size_t cap, const char *prefix)
{
    char id[LYC_ID_LEN];
    lyc_id_new(id);
    snprintf(buf, cap, "%s-%.12s", prefix, id);
    return buf;
}

int lyc_test_sh(const char *command)
{
    int status = system(command);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

const char *lyc_test_binary(char *buf, size_t cap, const char *relative)
{
    const char *root = getenv("LYCEUM_BUILD_DIR");
    snprintf(buf, cap, "%s/%s", root ? root : "build", relative);
    return buf;
}

int lyc_test_spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        fprintf(stderr, "cannot run %s\n", argv[0]);
        _exit(127);
    }
    return (int) pid;
}

int lyc_test_stop(int pid, int sig, int timeout_ms)
{
    int status = 0;
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (got < 0)
            return -1; /* not our child, or already reaped */
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static size_t s_collect(char *data, size_t size, size_t n, void *arg)
{
    FILE *out = arg;
    return fwrite(data, size, n, out) * size;
}

int lyc_test_http(const char *method, const char *url, const char *content_type, const char *body,
                  size_t body_len, char **response)
{
    char *text = NULL;
    size_t len = 0;
    long status = 0;
    FILE *out = open_memstream(&text, &len);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char header[256];
    if (content_type) {
        snprintf(header, sizeof header, "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, header);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) body_len);
    }
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    fclose(out);
    if (response)
        *response = text;
    else
        free(text);
    return (int) status;
}

int lyc_test_wait_http(const char *url, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        char *body = NULL;
        int status = lyc_test_http("GET", url, NULL, NULL, 0, &body);
        int ok = status == 200 && (!needle || (body && strstr(body, needle)));
        free(body);
        if (ok)
            return 0;
        usleep(100000);
    }
    return -1;
}

int lyc_test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) == 0 ? rc : -1;
}

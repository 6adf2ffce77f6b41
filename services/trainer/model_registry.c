/*
 * model_registry.c - registry entries as JSON in a Redis hash, and their
 * MODEL_ENTRY events.
 */
#include "model_registry.h"

#include "clock.h"
#include "log.h"
#include "model_yaml.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_key(char *buf, size_t cap, const char *prefix)
{
    snprintf(buf, cap, "%s:registry", prefix);
}

static cJSON *s_json(const lyc_registry_entry_t *e, int64_t at_us, const char *yaml)
{
    const lyc_model_config_t *m = e->model;
    cJSON *obj = cJSON_CreateObject(), *roles = cJSON_CreateArray(), *role = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "model", m->name);
    cJSON_AddStringToObject(obj, "backend", m->backend);
    cJSON_AddNumberToObject(obj, "price_in_per_mtok", m->price_in);
    cJSON_AddNumberToObject(obj, "price_out_per_mtok", m->price_out);
    cJSON_AddStringToObject(role, "domain", e->domain);
    cJSON_AddStringToObject(role, "role", lyc_role_name(e->role));
    cJSON_AddItemToArray(roles, role);
    cJSON_AddItemToObject(obj, "roles", roles);
    cJSON_AddStringToObject(obj, "version", e->version);
    cJSON_AddStringToObject(obj, "parent_model", e->parent);
    cJSON_AddBoolToObject(obj, "candidate", e->candidate);
    cJSON_AddBoolToObject(obj, "active", e->active);
    cJSON_AddNumberToObject(obj, "registered_at_us", (double) at_us);
    cJSON_AddStringToObject(obj, "domain", e->domain);
    cJSON_AddStringToObject(obj, "job_id", e->job_id);
    cJSON_AddNumberToObject(obj, "gate_score", e->gate_score);
    cJSON_AddStringToObject(obj, "cluster_file", e->cluster_file ? e->cluster_file : "");
    cJSON_AddStringToObject(obj, "config_yaml", yaml);
    return obj;
}

static void s_send_event(lyc_event_sink_t *sink, const char *topic, const lyc_registry_entry_t *e,
                         int64_t at_us)
{
    Lyceum__V1__DomainRole role = LYCEUM__V1__DOMAIN_ROLE__INIT;
    Lyceum__V1__DomainRole *roles[] = {&role};
    Lyceum__V1__ModelEntry ev = LYCEUM__V1__MODEL_ENTRY__INIT;
    role.domain = (char *) e->domain;
    role.role = (Lyceum__V1__Role) e->role;
    ev.model = e->model->name;
    ev.backend = e->model->backend;
    ev.price_in_per_mtok = e->model->price_in;
    ev.price_out_per_mtok = e->model->price_out;
    ev.roles = roles;
    ev.n_roles = 1;
    ev.version = (char *) e->version;
    ev.parent_model = (char *) e->parent;
    ev.candidate = e->candidate != 0;
    ev.active = e->active != 0;
    ev.registered_at_us = at_us;
    if (lyc_event_sink_send(sink, topic, e->model->name, LYCEUM__V1__MESSAGE_TYPE__MODEL_ENTRY,
                            NULL, &ev.base) != 0)
        LYC_WARN(NULL, "trainer: the MODEL_ENTRY event of %s was not accepted", e->model->name);
}

int lyc_registry_put(lyc_redis_t *redis, const char *prefix, lyc_event_sink_t *sink,
                     const char *topic, const lyc_registry_entry_t *entry)
{
    char key[256];
    int64_t at_us = entry->registered_at_us ? entry->registered_at_us : lyc_wall_us();
    char *yaml = lyc_model_yaml_emit(entry->model, 0);
    cJSON *obj = yaml ? s_json(entry, at_us, yaml) : NULL;
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    int rc = -1;
    if (!text) {
        LYC_ERROR(NULL, "trainer: out of memory writing the registry entry");
        goto out_free;
    }
    s_key(key, sizeof key, prefix);
    const char *argv[] = {"HSET", key, entry->model->name, text};
    redisReply *reply = lyc_redis_command(redis, 4, argv, NULL);
    if (!reply)
        goto out_free;
    freeReplyObject(reply);
    s_send_event(sink, topic, entry, at_us);
    rc = 0;
out_free:
    free(text);
    cJSON_Delete(obj);
    free(yaml);
    return rc;
}

static redisReply *s_hget(lyc_redis_t *redis, const char *prefix, const char *model)
{
    char key[256];
    s_key(key, sizeof key, prefix);
    const char *argv[] = {"HGET", key, model};
    return lyc_redis_command(redis, 3, argv, NULL);
}

char *lyc_registry_config_yaml(lyc_redis_t *redis, const char *prefix, const char *model)
{
    redisReply *reply = s_hget(redis, prefix, model);
    if (!reply)
        return NULL;
    char *yaml = NULL;
    cJSON *obj = reply->type == REDIS_REPLY_STRING ? cJSON_Parse(reply->str) : NULL;
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "config_yaml"));
    if (text)
        yaml = strdup(text);
    cJSON_Delete(obj);
    freeReplyObject(reply);
    return yaml;
}

int lyc_registry_exists(lyc_redis_t *redis, const char *prefix, const char *model)
{
    redisReply *reply = s_hget(redis, prefix, model);
    if (!reply)
        return -1;
    int exists = reply->type == REDIS_REPLY_STRING;
    freeReplyObject(reply);
    return exists;
}

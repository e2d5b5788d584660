/* CreateAcls, DescribeAcls and DeleteAcls in the mock (mock_acl.h). The
 * ACL APIs themselves are not subject to enforcement. */
#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

kmock_outcome kmock_create_acls(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                int64_t *wake_at)
{
    kafka_create_acls_request *req = kmock_decode(rq, a);
    kafka_create_acls_response resp;

    (void)wake_at;
    if (!req || req->creations_count < 0)
        return KMOCK_CLOSE;
    kafka_create_acls_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.results, req->creations_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->creations_count; i++) {
        const kafka_create_acls_request_acl_creation *q = &req->creations[i];
        kafka_create_acls_response_acl_creation_result *r = &resp.results[i];
        kafka_create_acls_response_acl_creation_result_init(r);
        r->error_code = rq->injected ? rq->injected
                                     : kmock_acl_add(&c->acls, q->resource_type, q->resource_name,
                                                     q->resource_pattern_type, q->principal, q->host, q->operation,
                                                     q->permission_type);
        if (r->error_code)
            r->error_message = kafka_str_c(kafka_err_str(r->error_code));
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_describe_acls(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at)
{
    kafka_describe_acls_request *req = kmock_decode(rq, a);
    kafka_describe_acls_response resp;
    kmock_acl_filter f;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    f = (kmock_acl_filter){req->resource_type_filter, req->resource_name_filter, req->pattern_type_filter,
                           req->principal_filter,     req->host_filter,          req->operation,
                           req->permission_type};
    kafka_describe_acls_response_init(&resp);
    resp.error_code = rq->injected;
    if (!KMOCK_ARRAY(a, resp.resources, c->acls.n))
        return KMOCK_CLOSE;
    resp.resources_count = 0;
    /* one resource entry per matching binding (clients group them) */
    for (size_t i = 0; i < c->acls.n && !rq->injected; i++) {
        const kmock_acl *acl = &c->acls.a[i];
        kafka_describe_acls_response_describe_acls_resource *r;
        if (!kmock_acl_matches(acl, &f))
            continue;
        r = &resp.resources[resp.resources_count++];
        kafka_describe_acls_response_describe_acls_resource_init(r);
        r->resource_type = acl->resource_type;
        r->resource_name = kafka_str_c(acl->resource_name);
        r->pattern_type = acl->pattern_type;
        if (!KMOCK_ARRAY(a, r->acls, 1))
            return KMOCK_CLOSE;
        r->acls[0] = (kafka_describe_acls_response_acl_description){
            kafka_str_c(acl->principal), kafka_str_c(acl->host), acl->operation, acl->permission};
    }
    return kmock_encode(rq, &resp, out);
}

kmock_outcome kmock_delete_acls(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                int64_t *wake_at)
{
    kafka_delete_acls_request *req = kmock_decode(rq, a);
    kafka_delete_acls_response resp;

    (void)wake_at;
    if (!req || req->filters_count < 0)
        return KMOCK_CLOSE;
    kafka_delete_acls_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.filter_results, req->filters_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->filters_count; i++) {
        const kafka_delete_acls_request_delete_acls_filter *q = &req->filters[i];
        kafka_delete_acls_response_delete_acls_filter_result *r = &resp.filter_results[i];
        kmock_acl_filter f = {q->resource_type_filter, q->resource_name_filter, q->pattern_type_filter,
                              q->principal_filter,     q->host_filter,          q->operation,
                              q->permission_type};
        kafka_delete_acls_response_delete_acls_filter_result_init(r);
        r->error_code = rq->injected;
        if (!KMOCK_ARRAY(a, r->matching_acls, c->acls.n))
            return KMOCK_CLOSE;
        r->matching_acls_count = 0;
        for (size_t k = 0; k < c->acls.n && !rq->injected;) {
            const kmock_acl *acl = &c->acls.a[k];
            if (!kmock_acl_matches(acl, &f)) {
                k++;
                continue;
            }
            kafka_delete_acls_response_delete_acls_matching_acl *m = &r->matching_acls[r->matching_acls_count++];
            kafka_delete_acls_response_delete_acls_matching_acl_init(m);
            m->resource_type = acl->resource_type;
            m->resource_name = kafka_str_c(kmock_cstr(a, kafka_str_c(acl->resource_name)));
            m->pattern_type = acl->pattern_type;
            m->principal = kafka_str_c(kmock_cstr(a, kafka_str_c(acl->principal)));
            m->host = kafka_str_c(kmock_cstr(a, kafka_str_c(acl->host)));
            m->operation = acl->operation;
            m->permission_type = acl->permission;
            kmock_acl_remove(&c->acls, k);
        }
    }
    return kmock_encode(rq, &resp, out);
}

{#- Every version of each staged ticket an extraction has seen, valid from its last change: a rating or a
    resolution entered after a date does not reach that date. A ticket's updated_at may be missing (the
    SPEC does not require it), so its change time falls back to created_at; that needs this SQL form,
    where the other snapshots are declared in _snapshots.yml. -#}
{% snapshot service_tickets_history %}
    {{ config(schema='history', unique_key='ticket_id', strategy='timestamp', updated_at='changed_at') }}
    select
        *,
        coalesce(updated_at, created_at) as changed_at
    from {{ ref('stg_service__tickets') }}
{% endsnapshot %}

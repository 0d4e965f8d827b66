-- One row per model per as-of date that has been run (SPEC section 8): what was fitted, on how many customers, and
-- whether the optimiser converged. A model that could not be fitted has no parameters and says why.
with fits as (
    select * from {{ ref('int_clv_fits') }}
),

final as (
    select
        as_of_date,
        model,
        customers,
        parameters,
        log_likelihood,
        converged,
        library,
        fit_seconds,
        reason
    from fits
)

select * from final

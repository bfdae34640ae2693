"""Payment providers behind the `PaymentGateway` port: the sandbox, Stripe, Mercado Pago, PagBank,
and the registry that builds them."""

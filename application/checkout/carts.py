"""The checkout service (customers): carts, and checking a cart out into a placed order,
card, Pix or boleto. What happens next (the saga, the gateway calls) is in
`application/checkout/policy.py`, `effects.py` and `payments.py`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from application.card_tokens import accept_card_token, check_raw_card_allowed
from application.carrier_quotes import quote_from
from application.carriers import Carrier, Parcel
from application.catalog import CatalogService
from application.checkout.policy import payment_for
from application.errors import (
    CartNotFoundError,
    GatewayUnavailableError,
    OrderNotFoundError,
    StockItemNotFoundError,
    UnknownSkuError,
)
from application.event_store import CommandResult, EventStore
from application.gateways import GatewayChain, join_tokens
from application.ports import CardToken, GatewayError, PaymentGateway
from application.promotions import PromotionService
from application.shipping import ShippingService
from domain.base import InvalidInputError, now
from domain.card import Address, CardDetails
from domain.cart import Cart, CartLine
from domain.customer import SubjectErasedError
from domain.installments import MAX_INSTALLMENTS, InvalidInstallmentsError
from domain.money import Money
from domain.order import Order, OrderLine, PaymentMethod, price_order
from domain.payment_choice import BoletoPayment, CardPayment, PaymentChoice, TokenCardPayment
from domain.personal import DataSubject, PersonalData
from domain.shipping import ShippingOption, ShippingRates, parse_cep
from domain.stock_item import InsufficientStockError, StockItem


class PaymentMethodNotOfferedError(InvalidInputError):
    """No gateway of the chain takes the chosen payment method."""


class CheckoutService:
    def __init__(
        self,
        store: EventStore,
        catalog: CatalogService,
        promotions: PromotionService,
        shipping: ShippingService,
        gateways: Sequence[PaymentGateway],
        *,
        interest_free_installments: int = 6,
        raw_cards_allowed: bool = True,  # raw card fields: the sandbox, never production
        carrier: Carrier | None = None,  # quotes shipping when configured (carrier_quotes.py)
        ship_from_postal_code: str = "01310-100",
        quote_valid_for: timedelta = timedelta(hours=1),
    ):
        self.store = store
        self.catalog = catalog
        self.promotions = promotions
        self.shipping = shipping
        self.gateways: Sequence[PaymentGateway] = (
            gateways if isinstance(gateways, GatewayChain) else list(gateways)
        )
        self.interest_free_installments = interest_free_installments
        self.raw_cards_allowed = raw_cards_allowed
        self.carrier = carrier
        self.ship_from_postal_code = ship_from_postal_code
        self.quote_valid_for = quote_valid_for

    def cart_of(self, cart_id: UUID, customer_id: str) -> Cart:
        """The customer's cart; someone else's cart is reported as not found."""
        missing = CartNotFoundError(f"no cart {cart_id}")
        return self.store.load(Cart, cart_id, missing, owner=customer_id)

    def _in_stock(self, sku: str, quantity: int) -> StockItem:
        """The catalog item, if it is sold and `quantity` units are available right now."""
        try:
            item = self.catalog.stock_item(sku)
        except StockItemNotFoundError:
            raise UnknownSkuError(f"unknown SKU {sku}") from None
        item.check_not_archived()
        if quantity > item.available:
            raise InsufficientStockError(f"{sku}: {quantity} wanted, {item.available} available")
        return item

    def _open_cart(self, cart_id: UUID, customer_id: str, expected_version: int | None) -> Cart:
        """The customer's cart, at the version the client saw, still open for changes."""
        cart = self.cart_of(cart_id, customer_id)
        self.store.check_version(cart, expected_version)
        cart.check_open()
        return cart

    def create_cart(self, customer_id: str) -> CommandResult:
        return self.store.commit(Cart(customer_id=customer_id))

    def add_cart_item(
        self,
        cart_id: UUID,
        customer_id: str,
        sku: str,
        quantity: int,
        expected_version: int | None = None,
    ) -> CommandResult:
        # The cart and the (cached) stock item read in one round trip, not two.
        with self.store.reading([cart_id], cached=[StockItem.create_id(sku)]):
            cart = self._open_cart(cart_id, customer_id, expected_version)
            in_cart = cart.lines[sku].quantity if sku in cart.lines else 0
            item = self._in_stock(sku, in_cart + quantity)
        cart.add_item(sku, item.name, quantity, item.price)
        self.promotions.reprice_coupon(cart)
        return self.store.commit(cart)

    def change_cart_item(
        self,
        cart_id: UUID,
        customer_id: str,
        sku: str,
        quantity: int,
        expected_version: int | None = None,
    ) -> CommandResult:
        with self.store.reading([cart_id], cached=[StockItem.create_id(sku)]):
            cart = self._open_cart(cart_id, customer_id, expected_version)
            cart.check_has_line(sku)
            self._in_stock(sku, quantity)
        cart.change_quantity(sku, quantity)
        self.promotions.reprice_coupon(cart)
        return self.store.commit(cart)

    def remove_cart_item(
        self, cart_id: UUID, customer_id: str, sku: str, expected_version: int | None = None
    ) -> CommandResult:
        cart = self._open_cart(cart_id, customer_id, expected_version)
        cart.remove_item(sku)
        self.promotions.reprice_coupon(cart)
        return self.store.commit(cart)

    def apply_coupon(
        self, cart_id: UUID, customer_id: str, code: str, expected_version: int | None = None
    ) -> CommandResult:
        cart = self._open_cart(cart_id, customer_id, expected_version)
        cart.check_not_empty()
        promotion = self.promotions.coupon(code)
        discount = sum(self.promotions.coupon_discounts(cart, promotion), Money.zero())
        cart.apply_coupon(promotion.code, discount)
        return self.store.commit(cart)

    def remove_coupon(
        self, cart_id: UUID, customer_id: str, expected_version: int | None = None
    ) -> CommandResult:
        cart = self.cart_of(cart_id, customer_id)
        self.store.check_version(cart, expected_version)
        cart.remove_coupon()
        return self.store.commit(cart)

    def shipping_quote(
        self, cart_id: UUID, customer_id: str, postal_code: str
    ) -> list[ShippingOption]:
        """Standard and express for the cart as it is, to `postal_code`: the configured
        carrier's quote, or the rates table's when there is no carrier or it does not answer.
        With a carrier, what is shown is recorded on the cart (the table's fallback too, so
        an older carrier quote never outlives it): checkout charges it as shown."""
        cart = self.cart_of(cart_id, customer_id)
        cart.check_not_empty()
        lines = self._order_lines(cart)
        net = sum((line.net for line in lines), Money.zero())
        grams = parcel_grams(lines)
        table = self.shipping.rates_table()
        if self.carrier is None:
            return table.quote(postal_code, grams, net)
        cart.check_open()
        cep = parse_cep(postal_code)
        parcel = Parcel(self.ship_from_postal_code, cep, grams, net)
        options = quote_from(self.carrier, parcel, table) or table.quote(postal_code, grams, net)
        cart.record_shipping_quote(cep, options, now())
        self.store.commit(cart)
        return options

    def cart_net(self, cart_id: UUID, customer_id: str) -> Money:
        """The cart's subtotal after its coupon: what the free-shipping threshold is
        compared with."""
        cart = self.cart_of(cart_id, customer_id)
        return sum((line.net for line in self._order_lines(cart)), Money.zero())

    def _check_not_erased(self, customer_id: str) -> None:
        """One rule for an erased subject (docs/back-office.md): no new personal data under
        that account, a profile (PUT /customers/me) or an order's address alike; 409
        `subject-erased`. The person may sign up again as a new customer."""
        subject = self.store.load(DataSubject, DataSubject.create_id(customer_id))
        if subject is not None and subject.erased:
            raise SubjectErasedError(
                f"the personal data of {customer_id} was erased (LGPD); this account takes "
                "no new personal data: sign up again as a new customer"
            )

    def checkout(
        self,
        cart_id: UUID,
        customer_id: str,
        address: Address,
        payment: PaymentChoice | CardDetails,
        expected_version: int | None = None,
        shipping_method: str = "standard",
    ) -> CommandResult:
        """Check the cart out and place a pending order; the saga takes it from there.
        A card is tokenized here and forgotten: only tokens, brand and last4 go on. A boleto
        payer's CPF goes on encrypted with the customer's key. Prices, discount and shipping are
        priced here again, never taken from the client."""
        choice = CardPayment(payment) if isinstance(payment, CardDetails) else payment
        cart = self._open_cart(cart_id, customer_id, expected_version)
        cart.check_not_empty()
        # What the checks and the prices read next (the data subject, the rates table, the
        # lines' cached stock items) in one round trip instead of one each.
        with self.store.reading(
            [DataSubject.create_id(customer_id), ShippingRates.create_id()],
            cached=[StockItem.create_id(sku) for sku in cart.lines],
        ):
            self._check_payment_choice(choice, customer_id)
            lines = self._order_lines(cart)
            net = sum((line.net for line in lines), Money.zero())
            shipping = self._shipping_for(cart, shipping_method, address.postal_code, lines, net)
        # The cheap checks on the total first: a card never reaches a provider's tokenization
        # for an order we would refuse (installments over the limit, a part under R$ 5,00...).
        total = price_order(lines, shipping.price).total
        choice.check_total(total, self.interest_free_installments)
        order = Order.place(
            customer_id=customer_id,
            cart_id=cart.id,
            lines=lines,
            shipping_address=PersonalData(customer_id, address.to_dict()),
            payment_method=self._payment_method(choice),
            coupon=cart.coupon,
            payer=payer_of(choice, customer_id),
            shipping_method=shipping.method.value,
            shipping=shipping.price,
            shipping_footprint_kg=shipping.carbon_footprint_kg,
        )
        cart.check_out(order.id)
        return self.store.commit(order, cart)

    def _shipping_for(
        self, cart: Cart, method: str, postal_code: str, lines: list[OrderLine], net: Money
    ) -> ShippingOption:
        """The shipping checkout charges: the quote shown for this cart and CEP, as shown
        (409 once stale); else the rates table's price."""
        cep = parse_cep(postal_code)
        quoted = cart.quoted_shipping(cep, method, now(), self.quote_valid_for)
        if quoted is not None:
            return quoted
        return self.shipping.rates_table().option(method, postal_code, parcel_grams(lines), net)

    # Another try at paying ------------------------------------------------------------------
    def retry_payment(
        self,
        order_id: UUID,
        customer_id: str,
        payment: PaymentChoice | CardDetails,
        expected_version: int | None = None,
    ) -> tuple[CommandResult, UUID]:
        """Another try at paying an order whose payment was declined, failed or expired
        (it waits, `awaiting_payment` with its stock held, until a deadline): a new card, Pix
        or boleto, checked as at checkout, a new Payment (docs/after-sale.md). Returns the
        result and the new payment's id. 409 while a payment is under way or after the
        deadline; 422 as at checkout."""
        choice = CardPayment(payment) if isinstance(payment, CardDetails) else payment
        missing = OrderNotFoundError(f"no order {order_id}")
        order = self.store.load(Order, order_id, missing, owner=customer_id)
        self.store.check_version(order, expected_version)
        order.check_no_payment_under_way()
        order.check_retry_open(now())
        self._check_payment_choice(choice, customer_id)
        choice.check_total(order.totals.total, self.interest_free_installments)
        payer = payer_of(choice, customer_id)
        payment_id = order.retry_payment(self._payment_method(choice), payer, now())
        return self.store.commit(order, payment_for(order)), payment_id

    def _check_payment_choice(self, choice: PaymentChoice, customer_id: str) -> None:
        """What checkout and another try at paying both check before any total: the
        subject not erased, a raw card only where allowed and not expired, a method a
        configured gateway takes."""
        self._check_not_erased(customer_id)
        if isinstance(choice, CardPayment):
            check_raw_card_allowed(self.gateways, self.raw_cards_allowed)
            choice.card.check(now())
        self._check_offered(choice.method)

    def _check_offered(self, method: str) -> None:
        if not any(method in getattr(g, "methods", {"card"}) for g in self.gateways):
            raise PaymentMethodNotOfferedError(f"no configured gateway takes {method}")

    def _payment_method(self, choice: PaymentChoice) -> PaymentMethod:
        if isinstance(choice, CardPayment | TokenCardPayment):
            if not 1 <= choice.installments <= MAX_INSTALLMENTS:
                raise InvalidInstallmentsError(f"installments must be 1 to {MAX_INSTALLMENTS}")
            token = (
                self._tokenize(choice.card)
                if isinstance(choice, CardPayment)
                else accept_card_token(self.gateways, choice.card_token)
            )
            return PaymentMethod("card", token.token, token.brand, token.last4, choice.installments)
        return PaymentMethod(choice.method)

    def _order_lines(self, cart: Cart) -> list[OrderLine]:
        """The lines at today's prices, each with its share of the coupon's discount (the
        coupon must still apply: 422 / 409 otherwise, nothing changed)."""
        discounts = [Money.zero()] * len(cart.lines)
        if cart.coupon is not None:
            discounts = self.promotions.coupon_discounts(cart, self.promotions.coupon(cart.coupon))
        return [
            self._order_line(line, discount)
            for line, discount in zip(cart.lines.values(), discounts, strict=True)
        ]

    def _order_line(self, line: CartLine, discount: Money) -> OrderLine:
        item = self.catalog.stock_item(line.sku)
        item.check_not_archived()
        return OrderLine(
            sku=line.sku,
            name=item.name,
            quantity=line.quantity,
            unit_price=item.price,
            carbon_footprint_kg=item.carbon_footprint_kg,
            discount=discount,
            weight_grams=item.weight_grams,
        )

    def _tokenize(self, card: CardDetails) -> CardToken:
        """Raw card fields (development only, checked by `check_raw_card_allowed`): the
        sandbox's vault tokenizes them as its browser page would; then they are forgotten."""
        vault = next((g for g in self.gateways if hasattr(g, "tokenize")), None)
        if vault is None:
            raise GatewayUnavailableError("no payment gateway could take the card; try again")
        try:
            made: CardToken = vault.tokenize(card.number, card.expiry, card.cvc, card.holder)
        except GatewayError:
            raise GatewayUnavailableError("the sandbox could not take the card") from None
        return CardToken(join_tokens({"sandbox": made.token}), made.brand, made.last4)


def parcel_grams(lines: list[OrderLine]) -> int:
    """The parcel's weight: each line's unit weight (from its stock item) times quantity."""
    return sum(line.weight_grams * line.quantity for line in lines)


def payer_of(choice: PaymentChoice, customer_id: str) -> PersonalData | None:
    """A boleto payer's CPF, encrypted under the customer's key; no payer otherwise."""
    if isinstance(choice, BoletoPayment):
        return PersonalData(customer_id, {"cpf": choice.payer_cpf.digits})
    return None

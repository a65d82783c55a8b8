package stripestub

// readSelling reads the parameters of a session that concern selling:
// invoice_creation, automatic_tax, tax_id_collection and customer_update,
// refusing the combinations Stripe refuses.
func (cs *Session) readSelling(f *form) *apiError {
	var err *apiError
	if ic := f.get("invoice_creation"); ic != nil {
		if cs.Mode != "payment" {
			return invalid("invoice_creation", "`invoice_creation` can only be used in `payment` mode.")
		}
		if cs.InvoiceCreation, _, err = ic.bool("enabled"); err != nil {
			err.Param = "invoice_creation[enabled]"
			return err
		}
	}
	if at := f.get("automatic_tax"); at != nil {
		if cs.AutomaticTax, _, err = at.bool("enabled"); err != nil {
			err.Param = "automatic_tax[enabled]"
			return err
		}
	}
	if tc := f.get("tax_id_collection"); tc != nil {
		if cs.TaxIDCollection, _, err = tc.bool("enabled"); err != nil {
			err.Param = "tax_id_collection[enabled]"
			return err
		}
	}
	switch v := f.str("billing_address_collection"); v {
	case "", "auto", "required":
	default:
		return invalid("billing_address_collection", "Invalid billing_address_collection: must be one of auto or required")
	}
	if cu := f.get("customer_update"); cu != nil {
		if cs.Customer == "" {
			return invalid("customer_update", "`customer_update` can only be used with `customer`.")
		}
		for _, k := range []string{"address", "name", "shipping"} {
			switch v := cu.str(k); v {
			case "", "auto", "never":
			default:
				return invalid("customer_update["+k+"]", "Invalid customer_update[%s]: must be one of auto or never", k)
			}
		}
	}
	return nil
}

// newSessionInvoiceLocked is the paid invoice (the receipt) a payment-mode
// session with invoice_creation gets; it belongs to no subscription.
func (s *Stub) newSessionInvoiceLocked(cs *Session, id string, paid bool) *invoice {
	now := s.now().Unix()
	in := &invoice{ID: id, Customer: cs.Customer, Currency: cs.Currency, BillingReason: "manual",
		Amount: cs.AmountTotal, Created: now, PeriodStart: now, PeriodEnd: now,
		PaymentIntent: cs.PaymentIntent, Charge: cs.Charge, Paid: paid}
	s.invoices[in.ID] = in
	return in
}

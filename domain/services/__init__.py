"""Application services, one module per part of the domain; composed in
:class:`domain.application.ReferralNetwork`."""

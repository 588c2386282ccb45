# The load balancer's group and its rules became optional (create_alb_security_group): an
# existing deployment keeps them.
moved {
  from = aws_security_group.alb
  to   = aws_security_group.alb[0]
}

moved {
  from = aws_vpc_security_group_ingress_rule.alb_https
  to   = aws_vpc_security_group_ingress_rule.alb_https[0]
}

moved {
  from = aws_vpc_security_group_ingress_rule.alb_http
  to   = aws_vpc_security_group_ingress_rule.alb_http[0]
}

moved {
  from = aws_vpc_security_group_egress_rule.alb_to_api
  to   = aws_vpc_security_group_egress_rule.alb_to_api[0]
}

moved {
  from = aws_vpc_security_group_ingress_rule.api_from_alb
  to   = aws_vpc_security_group_ingress_rule.api_from_alb[0]
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (empty when the VPC is private only)."
  value       = aws_subnet.public[*].id
}

output "security_group_ids" {
  description = "Security group IDs by role: alb (null without create_alb_security_group), api, rotator, database, endpoints."
  value = {
    alb       = one(aws_security_group.alb[*].id)
    api       = aws_security_group.api.id
    rotator   = aws_security_group.rotator.id
    database  = aws_security_group.database.id
    endpoints = aws_security_group.endpoints.id
  }
}

output "vpc_endpoint_ids" {
  description = "IDs of the VPC endpoints that were created, by service key."
  value = merge(
    { for k, e in aws_vpc_endpoint.interface : k => e.id },
    { for e in aws_vpc_endpoint.s3 : "s3" => e.id },
  )
}

output "nat_gateway_id" {
  description = "ID of the NAT gateway (null without one)."
  value       = try(aws_nat_gateway.this[0].id, null)
}

SELECT other_model.name AS model, other.site AS site, other.layer AS layer, other.unit AS unit, similarity.value AS value, CASE WHEN (similarity.value < %(value_1)s::INTEGER) THEN -similarity.value ELSE similarity.value END AS abs, similarity.rank AS rank, similarity.other_run_id AS run, similarity.correlation_id AS correlation 
FROM similarity JOIN neuron AS other ON other.id = similarity.other_neuron_id JOIN model AS other_model ON other_model.id = other.model_id 
WHERE similarity.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND neuron.layer = %(layer_1)s::INTEGER AND neuron.unit = %(unit_1)s::INTEGER) AND similarity.correlation_id IN (__[POSTCOMPILE_correlation_id_1]) AND other.model_id != %(model_id_2)s::INTEGER ORDER BY CASE WHEN (similarity.value < %(value_1)s::INTEGER) THEN -similarity.value ELSE similarity.value END DESC, other_model.name, other.layer, other.unit 
 LIMIT %(param_1)s::INTEGER
-- parameters: {'value_1': 0, 'model_id_1': 3, 'site_1': 'mlp', 'layer_1': 3, 'unit_1': 5, 'correlation_id_1': [2], 'model_id_2': 3, 'param_1': 11}
